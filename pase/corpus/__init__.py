"""Corpus preparation (LibriSpeech, TIMIT) and synthetic corpora made with eSpeak NG."""
