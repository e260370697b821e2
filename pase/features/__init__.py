"""Features for Kaldi/ESPnet: Kaldi MFCC/fbank (``kaldi``), CMVN statistics (``cmvn``) and the
parallel ark/scp dumping behind ``pase-dump-feats`` (``dump``)."""
