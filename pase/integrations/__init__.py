"""PASE / PASE+ encoders inside other toolkits, one small module per ecosystem.

- :mod:`pase.integrations.espnet`: an ESPnet ``AbsFrontend`` (``frontend: pase``).
- :mod:`pase.integrations.s3prl`: an s3prl-style ``UpstreamExpert`` (also behind
  ``hubconf.py`` at the repository root, for ``torch.hub.load``).
- :mod:`pase.integrations.lhotse`: a lhotse ``FeatureExtractor`` for
  ``CutSet.compute_and_store_features``.
- :mod:`pase.integrations.speechbrain`: a SpeechBrain lobe (``wavs, wav_lens -> feats``).

Importing one of them never requires its toolkit: a module uses the toolkit's base class
when it is importable and says how to install it when it is needed. See
docs/integrations.md.
"""
