"""The library's values that the commands' parsers need (option choices and defaults), copied
here from modules that import torch or numpy: building a parser imports neither, so that
``pase-* --help`` is fast (docs/cli.md). ``tests/test_cli_help_fast.py`` checks every copy
against the library's value; change both together.
"""

from __future__ import annotations

#: ``sorted(pase.extract.PCM_FORMATS)``: pase-extract --stream-format
STREAM_FORMATS = ("f32le", "s16le")
#: ``pase.export.FORMATS``: pase-export --format
EXPORT_FORMATS = ("torchscript", "onnx")
#: ``pase.distortions.conditions.CONDITIONS``: pase-make-condition --condition
CONDITIONS = ("clean", "noise", "reverb", "noise+reverb")
#: ``pase.data.data_cfg.SPLITS``: pase-make-data-cfg --<split>-dir
DATA_CFG_SPLITS = ("train", "valid", "test")
#: ``pase.targets.stats.STD_MODES``: pase-make-stats --std-mode
STD_MODES = ("pooled", "per_example")
#: ``pase.distortions.assets.RIR_METHODS``: pase-prepare-distortions --rir-method
RIR_METHODS = ("auto", "image", "simple")
#: ``pase.distortions.assets.AssetSettings()``'s defaults: pase-prepare-distortions
ASSET_SETTINGS = {
    "num_bandrop": 8,
    "num_noises": 6,
    "num_rirs": 12,
    "noise_seconds": 10.0,
    "overlap_max_files": 2000,
}
#: ``pase.corpus.openslr_rirs.ROOMS``: pase-prepare-openslr-rirs --<size>-room-ratio
OPENSLR_ROOMS = ("smallroom", "mediumroom", "largeroom")
#: ``pase.downstream.experiment.INPUTS``: pase-probe --inputs
PROBE_INPUTS = ("feats", "wav")
#: ``pase.downstream.heads.POOLINGS``: pase-probe --pooling
PROBE_POOLINGS = ("mean", "stats")
#: ``pase.downstream.train.TASKS``: pase-probe --task
PROBE_TASKS = ("utt", "frame")
#: ``pase.asr.frame_labels.PHONE_SETS``: pase-asr-ali-to-phones --phone-set
PHONE_SETS = ("48", "39")
#: ``pase.corpus.iemocap.SESSIONS``: pase-prepare-iemocap --sessions
IEMOCAP_SESSIONS = (1, 2, 3, 4, 5)
#: ``pase.corpus.iemocap.MIN_SECONDS``: pase-prepare-iemocap --min-seconds
IEMOCAP_MIN_SECONDS = 0.25
#: ``pase.corpus.synth_iemocap.SynthIemocapSettings()``'s defaults: pase-synth-iemocap
SYNTH_IEMOCAP_SETTINGS = {
    "num_sessions": 5,
    "utts_per_emotion": 3,
    "other_per_speaker": 1,
    "dialogs_per_session": 2,
}
#: ``pase.corpus.synth_voxceleb.VoxSynthSettings()``'s defaults: pase-synth-voxceleb
SYNTH_VOXCELEB_SETTINGS = {
    "num_speakers": 12,
    "videos": 3,
    "utterances": 4,
    "dev_per_speaker": 2,
    "test_per_speaker": 2,
    "sentences": 1,
}
