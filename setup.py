"""Installer for the ``pase`` toolkit (PASE / PASE+ speech encoders and recipes).

torch is declared as a range on purpose: install the build that matches your hardware first
(``pip install torch==2.13.0`` gives a CPU build here), then ``pip install -e .``.
"""

from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version: dict[str, str] = {}
exec((here / "pase" / "version.py").read_text(), version)

# Exact pins: newer kaldifst/kaldi-decoder are built against another OpenFst than
# kaldi-hmm-gmm 1.1.4 and cannot exchange FSTs with it (see docs/dependencies.md).
KALDI = [
    "kaldi-hmm-gmm==1.1.4",
    "kaldifst==1.7.17",
    "kaldi-decoder==0.2.11",
    "kaldilm==1.15.5",
    "kaldialign==0.12.0",
    "kaldi-native-fbank==1.23.0",
]
TRAIN = ["tensorboard>=2.10", "matplotlib>=3.5"]
# Codec2 distortion (codec2_p > 0): wheels bundle the codec2 C library.
CODEC2 = ["pycodec2>=4.1"]
# pase-export --format onnx: the exporter needs onnx, the check onnxruntime.
ONNX = ["onnx>=1.14", "onnxruntime>=1.16"]
# lhotse feature extractor (pase.integrations.lhotse); lhotse 1.33 imports urllib3 undeclared.
# Installs over the torch already installed (needs no torchaudio, pulls no CUDA build).
LHOTSE = ["lhotse>=1.20", "urllib3"]
TEST = [
    *LHOTSE,
    *ONNX,
    "pytest>=7",
    "pytest-xdist>=3",
    "ruff>=0.5",
    "kaldi-native-io==1.23.0",
    "kaldi-native-fbank==1.23.0",
    "praat-parselmouth>=0.4.3",
]

setup(
    # the name "pase" on PyPI is an unrelated project: the distribution is pase-speech, the
    # import name stays pase (s3prl imports it)
    name="pase-speech",
    version=version["__version__"],
    description="PASE / PASE+ problem-agnostic speech encoders: models, self-supervised "
    "training, Kaldi feature dumping and TIMIT hybrid ASR recipes",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["pase", "pase.*"]),
    package_data={"pase": ["conf/**/*", "py.typed", "asr/data/*"]},
    include_package_data=True,
    install_requires=[
        "torch>=2.1",
        "numpy>=1.23",
        "scipy>=1.9",
        "soundfile>=0.12",
        "kaldiio>=2.18",
        "pyyaml>=6",
        "configargparse>=1.5",
        "tqdm>=4.60",
    ],
    extras_require={
        "kaldi": KALDI,
        "train": TRAIN,
        "cuda": ["cupy-cuda12x>=13"],
        "test": TEST,
        "codec2": CODEC2,
        "lhotse": LHOTSE,
        "onnx": ONNX,
        "all": KALDI + TRAIN + CODEC2,
    },
    entry_points={
        "console_scripts": [
            "pase-extract=pase.bin.extract:main",
            "pase-prepare-librispeech=pase.bin.prepare_librispeech:main",
            "pase-synth-librispeech=pase.bin.synth_librispeech:main",
            "pase-compute-feats=pase.bin.compute_feats:main",
            "pase-dump-feats=pase.bin.dump_feats:main",
            "pase-prepare-openslr-rirs=pase.bin.prepare_openslr_rirs:main",
            "pase-make-data-cfg=pase.bin.make_data_cfg:main",
            "pase-make-stats=pase.bin.make_stats:main",
            "pase-check-distortions=pase.bin.check_distortions:main",
            "pase-train=pase.bin.train:main",
            "pase-find-checkpoint=pase.bin.find_checkpoint:main",
            "pase-save-random-encoder=pase.bin.save_random_encoder:main",
            "pase-prepare-timit=pase.bin.timit_prepare:main",
            "pase-synth-timit=pase.bin.timit_synth:main",
            "pase-asr-lang=pase.bin.asr_lang:main",
            "pase-asr-align=pase.bin.asr_align:main",
            "pase-asr-mkgraph=pase.bin.asr_mkgraph:main",
            "pase-asr-train=pase.bin.asr_train:main",
            "pase-asr-decode=pase.bin.asr_decode:main",
            "pase-asr-score=pase.bin.asr_score:main",
            "pase-asr-results=pase.bin.asr_results:main",
            "pase-probe=pase.bin.probe:main",
            "pase-summarize-probes=pase.bin.summarize_probes:main",
            "pase-make-condition=pase.bin.make_condition:main",
            "pase-synth-distortions=pase.bin.synth_distortions:main",
            "pase-prepare-distortions=pase.bin.prepare_distortions:main",
            "pase-asr-ali-to-phones=pase.bin.asr_ali_to_phones:main",
            "pase-summarize-conditions=pase.bin.summarize_conditions:main",
            "pase-prepare-voxceleb=pase.bin.prepare_voxceleb:main",
            "pase-synth-voxceleb=pase.bin.synth_voxceleb:main",
            "pase-prepare-iemocap=pase.bin.prepare_iemocap:main",
            "pase-make-folds=pase.bin.make_folds:main",
            "pase-synth-iemocap=pase.bin.synth_iemocap:main",
            "pase-export=pase.bin.export:main",
            # old names (docs/cli.md), the same commands
            "pase-timit-prepare=pase.bin.timit_prepare:main",
            "pase-timit-synth=pase.bin.timit_synth:main",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Multimedia :: Sound/Audio :: Speech",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
