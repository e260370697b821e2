"""Hybrid HMM-DNN phone recognition (TIMIT) on Kaldi's own HMM and decoder code.

Modules (the Kaldi wheels are imported only through :mod:`pase.asr.kaldi_wheels`):

- :mod:`~pase.asr.lang`: phone/word symbol tables, HMM topology, lexicon FST
- :mod:`~pase.asr.lm`: Witten-Bell phone bigram (ARPA) and G.fst
- :mod:`~pase.asr.hmm`: monophone tree + transition model, tid/pdf/phone maps
- :mod:`~pase.asr.gmm`, :mod:`~pase.asr.mono`: flat-start monophone HMM-GMM training/alignment
- :mod:`~pase.asr.graph`: HCLG (``mkgraph``) and training graphs
- :mod:`~pase.asr.decode`: mapped decoding (``latgen-faster-mapped``), lattices, LM-weight sweep
- :mod:`~pase.asr.scoring`: 48->39 folding and PER
- :mod:`~pase.asr.mlp`: the hybrid MLP acoustic model, priors, training
- :mod:`~pase.asr.kaldi_format`: Kaldi ``final.mdl`` / ``ali.*.gz`` reading and writing
"""
