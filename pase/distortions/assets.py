"""The data of the PASE+ distortions, gathered in one folder with the config that points at it
(the library of ``pase-prepare-distortions``).

:func:`prepare_distortions` writes, under ``out_dir``::

    filters/filter_16_to_8.npy    16 -> 8 kHz low-pass FIR (:mod:`pase.distortions.fir`)
    filters/bandrop_*.npy         band-stop FIRs of seeded random bands
    simulated/                    (without OpenSLR data) seeded noises and simple room impulse
                                  responses of :func:`pase.distortions.conditions.simulate_files`
    rooms/                        (without OpenSLR data, with pyroomacoustics) image-method
                                  impulse responses (:mod:`pase.distortions.rooms`), used
                                  instead of the simple ones
    overlap.lst                   interfering speech: training wavs (relative to their common
                                  folder; a seeded subset of at most ``overlap_max_files``)
    distortions.json              the distortions config (original keys, PASE+ probabilities,
                                  absolute paths), with its provenance stamp
                                  ``distortions.json.stamp.json`` (:mod:`pase.io.provenance`)

Impulse responses and noises come either from OpenSLR 28 (``RIRS_NOISES``: its
``simulated_rirs`` rooms, read with :mod:`pase.corpus.openslr_rirs`, and its
``pointsource_noises``), optionally with MUSAN's (OpenSLR 17) ``noise`` folders, or, without
them, are simulated. A rerun with the same settings, inputs and untouched files does nothing.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pase.distortions.banks import dir_files
from pase.distortions.config import DistortionConfig
from pase.distortions.fir import LOWPASS_NAME, filter_bank, random_bands, save_filters
from pase.distortions.options import DistortionConfigError
from pase.distortions.rooms import image_method_version, rir_names, rt60_grid, write_room_rirs
from pase.io.atomic import write_json_atomic, write_text_atomic
from pase.io.provenance import (
    audio_files,
    audio_table,
    input_entry,
    make_stamp,
    up_to_date,
    write_stamp,
)

TOOL = "pase-prepare-distortions"
CONFIG_NAME = "distortions.json"
OVERLAP_LIST = "overlap.lst"
#: the probabilities and SNRs of the PASE+ config (conf/distortions/pase+.cfg)
PASE_PLUS: dict[str, Any] = {
    "overlap_snrs": [5, 7.5, 10],
    "overlap_reverb": True,
    "overlap_p": 0.1,
    "noises_snrs": [0, 5, 10],
    "noises_p": 0.4,
    "clip_factors": [0.1, 0.3, 0.5],
    "clip_p": 0.2,
    "chop_factors": [[0.05, 0.025], [0.1, 0.05]],
    "chop_p": 0.2,
    "downsample_p": 0.25,
    "bandrop_p": 0.35,
    "reverb_p": 0.5,
}
#: how simulated impulse responses are made (AssetSettings.rir_method)
RIR_METHODS = ("auto", "image", "simple")
#: the MUSAN folders of noises (music and speech are not noise distortions)
MUSAN_NOISES = ("noise/free-sound", "noise/sound-bible")
_AUDIO_EXTS = (".wav", ".flac")


class AssetError(ValueError):
    """Distortion data that cannot be prepared (the message names the folder or file)."""


@dataclass(frozen=True)
class AssetSettings:
    """What determines the assets (recorded in the stamp).

    ``rirs_noises``: the OpenSLR 28 ``RIRS_NOISES`` folder (or the folder holding it); None:
    simulated impulse responses and noises. ``musan``: the MUSAN folder (or the folder holding
    it), whose noises are added to RIRS_NOISES's. ``noise_seconds`` is the length of each
    simulated noise (s); ``overlap_max_files`` 0 keeps every training file. ``rir_method``
    (simulated impulse responses): ``"image"`` (:mod:`pase.distortions.rooms`, needs
    pyroomacoustics), ``"simple"`` (:func:`pase.corpus.synth_common.simulated_rir`) or
    ``"auto"`` (image when pyroomacoustics is installed).
    """

    seed: int = 0
    num_bandrop: int = 8
    num_noises: int = 6
    num_rirs: int = 12
    noise_seconds: float = 10.0
    overlap_max_files: int = 2000
    rirs_noises: str | None = None
    musan: str | None = None
    rir_method: str = "auto"

    def __post_init__(self) -> None:
        for name in ("num_bandrop", "num_noises", "num_rirs"):
            if getattr(self, name) < 1:
                raise AssetError(f"{name.replace('_', '-')}: must be at least 1")
        if self.noise_seconds <= 0:
            raise AssetError("noise-seconds: must be positive")
        if self.overlap_max_files < 0:
            raise AssetError("overlap-max-files: must be 0 (all) or more")
        if self.rir_method not in RIR_METHODS:
            raise AssetError(f"rir-method {self.rir_method!r}: use one of {', '.join(RIR_METHODS)}")
        if self.rir_method == "image" and image_method_version() is None:
            raise AssetError(
                "rir-method image: pyroomacoustics is not installed (pip install "
                "pyroomacoustics), or use --rir-method simple"
            )
        if self.musan is not None and self.rirs_noises is None:
            raise AssetError("MUSAN noises are added to OpenSLR 28's: give RIRS_NOISES too")

    @property
    def rirs(self) -> str:
        """How the impulse responses are made: ``"openslr"``, ``"image"`` or ``"simple"``."""
        if self.rirs_noises is not None:
            return "openslr"
        if self.rir_method == "auto":
            return "simple" if image_method_version() is None else "image"
        return self.rir_method

    @property
    def source(self) -> str:
        """``"openslr"`` or ``"simulated"``."""
        return "simulated" if self.rirs_noises is None else "openslr"


@dataclass(frozen=True)
class PreparedAssets:
    """Where the config is, where its data came from, and whether this call made it."""

    config: Path
    source: str
    made: bool


# --------------------------------------------------------------------------------------------
# the parts
# --------------------------------------------------------------------------------------------
def find_folder(path: str | os.PathLike, name: str, marker: str) -> Path:
    """``path`` if it holds ``marker``, else ``path/name`` if that does (the folder a download
    unpacked into); :class:`AssetError` otherwise."""
    p = Path(path)
    for cand in (p, p / name):
        if (cand / marker).exists():
            return cand.absolute()
    raise AssetError(f"{os.fspath(p)}: neither it nor {name}/ in it has {marker}/ (not {name}?)")


def overlap_files(
    train_dir: str | os.PathLike, max_files: int = 0, seed: int = 0
) -> tuple[Path, list[str]]:
    """The interfering-speech files of a training data dir: the common folder of its audio
    files and their paths relative to it (sorted; a seeded random ``max_files`` of them when
    there are more, 0 = all). ``wav.scp`` entries that are ``cmd |`` pipes give the audio
    files they name."""
    from pase.io.datadir import read_kv

    scp = Path(train_dir) / "wav.scp"
    if not scp.is_file():
        raise AssetError(f"{scp}: no such file (the training data dir of stage 0)")
    files = [f for f in audio_files(read_kv(scp).values()) if f.lower().endswith(_AUDIO_EXTS)]
    files = [f for f in files if os.path.isfile(f)]
    if not files:
        raise AssetError(f"{scp}: names no existing .wav/.flac file for overlapping speech")
    if 0 < max_files < len(files):
        files = sorted(random.Random(seed).sample(files, max_files))
    root = Path(os.path.commonpath(files))
    if root.is_file() or str(root) in files:
        root = root.parent
    return root, [os.path.relpath(f, root) for f in files]


def openslr_noise_dirs(rirs_noises: Path, musan: Path | None) -> list[Path]:
    """The noise folders: RIRS_NOISES's ``pointsource_noises`` and MUSAN's
    :data:`MUSAN_NOISES`, each checked to hold audio files."""
    dirs = [rirs_noises / "pointsource_noises"]
    if musan is not None:
        dirs += [musan / d for d in MUSAN_NOISES]
    for d in dirs:
        try:
            dir_files([os.fspath(d)], key="noises_dir", source=TOOL)
        except DistortionConfigError as e:
            raise AssetError(f"{d}: no noise files ({e})") from None
    return dirs


def distortions_config(
    *,
    reverb_root: Path,
    reverb_files: list[str],
    noise_dirs: list[Path],
    filters_dir: Path,
    bandrop_files: list[str],
    overlap: tuple[Path, Path] | None,
) -> dict[str, Any]:
    """The config of these files (absolute paths) with the PASE+ probabilities;
    ``overlap``: (folder, list file) of the interfering speech, None for none."""
    cfg: dict[str, Any] = {}
    if overlap is not None:
        cfg.update(overlap_dir=str(overlap[0]), overlap_list=str(overlap[1]))
    else:
        cfg.update(overlap_p=0.0, overlap_reverb=False)
    cfg.update(
        noises_dir=[str(d) for d in noise_dirs],
        downsample_data_root=str(filters_dir),
        downsample_fmt="npy",
        downsample_irfiles=[LOWPASS_NAME],
        bandrop_data_root=str(filters_dir),
        bandrop_fmt="npy",
        bandrop_irfiles=bandrop_files,
        reverb_data_root=str(reverb_root),
        reverb_fmt="wav",
        reverb_irfiles=reverb_files,
    )
    for key, value in PASE_PLUS.items():
        cfg.setdefault(key, value)
    return cfg


# --------------------------------------------------------------------------------------------
# all of it
# --------------------------------------------------------------------------------------------
def _stamp(
    settings: AssetSettings,
    inputs: dict[str, Path],
    files: list[str],
) -> dict[str, Any]:
    options = asdict(settings)
    for key in ("rirs_noises", "musan"):
        if options[key] is not None:
            options[key] = str(Path(options[key]).absolute())
    options["rirs"] = settings.rirs  # what "auto" chose
    if settings.rirs == "image":
        options["pyroomacoustics"] = image_method_version()
    return make_stamp(
        TOOL,
        options=options,
        inputs={k: input_entry(p) for k, p in inputs.items()},
        audio=audio_table(sorted(files)),
    )


def prepare_distortions(
    out_dir: str | os.PathLike,
    settings: AssetSettings | None = None,
    *,
    train_dir: str | os.PathLike | None = None,
    force: bool = False,
    say: Callable[[str], None] = print,
) -> PreparedAssets:
    """Gather or make the distortion data in ``out_dir`` and write ``out_dir/distortions.json``
    (see the module's docstring). ``train_dir``: the Kaldi data dir whose audio is the
    overlapping speech (None: no overlap distortion).

    Raises:
        AssetError: missing OpenSLR folders or files, a training dir without audio.
        pase.corpus.openslr_rirs.RirListError: malformed ``rir_list`` files.
    """
    from pase.corpus.openslr_rirs import ROOMS, select_rirs
    from pase.distortions.conditions import read_file_list, simulate_files

    settings = settings or AssetSettings()
    out = Path(out_dir).absolute()
    cfg_path = out / CONFIG_NAME
    filters_dir = out / "filters"
    inputs: dict[str, Path] = {"overlap list": out / OVERLAP_LIST}
    speech = None  # checked before anything is made
    if train_dir is not None:
        inputs["train wav.scp"] = Path(train_dir).absolute() / "wav.scp"
        speech = overlap_files(train_dir, settings.overlap_max_files, settings.seed)

    if settings.rirs_noises is None:
        sim = simulate_files(
            out / "simulated",
            seed=settings.seed,
            num_noises=settings.num_noises,
            num_rirs=settings.num_rirs,
            noise_seconds=settings.noise_seconds,
            force=force,
            say=say,
        )
        if settings.rirs == "image":  # the noises of simulate_files, rooms of our own
            reverb_root = out / "rooms"
            rt60s = rt60_grid(settings.num_rirs)
            rir_paths = [str(reverb_root / n) for n in rir_names(rt60s)]
        else:
            reverb_root = out / "simulated" / "rirs"
            rir_paths = read_file_list(sim.rir_list, "rir list")
        reverb_files = sorted(os.path.relpath(p, reverb_root) for p in rir_paths)
        noise_dirs = [out / "simulated" / "noises"]
        inputs.update(rir_list=sim.rir_list, noise_list=sim.noise_list)
        noise_files = read_file_list(sim.noise_list, "noise list")
        tracked = rir_paths + noise_files
    else:
        rirs_noises = find_folder(settings.rirs_noises, "RIRS_NOISES", "simulated_rirs")
        musan = None if settings.musan is None else find_folder(settings.musan, "musan", "noise")
        reverb_root = rirs_noises / "simulated_rirs"
        reverb_files = select_rirs(reverb_root, {})
        noise_dirs = openslr_noise_dirs(rirs_noises, musan)
        inputs.update({f"{room} rir_list": reverb_root / room / "rir_list" for room in ROOMS})
        noise_files = [f for d in noise_dirs for f in dir_files([str(d)], key="noises_dir")]
        tracked = noise_files

    rng = np.random.default_rng(settings.seed)
    filters = filter_bank(random_bands(rng, settings.num_bandrop))
    filter_paths = [str(filters_dir / name) for name in filters]
    stamp = _stamp(settings, inputs, tracked + filter_paths)
    if up_to_date(TOOL, cfg_path, stamp, force=force, log=say):
        return PreparedAssets(cfg_path, settings.source, made=False)

    save_filters(filters_dir, filters)
    if settings.rirs == "image":
        write_room_rirs(reverb_root, rt60s, seed=settings.seed)
    overlap = None
    if speech is not None:
        root, names = speech
        write_text_atomic(out / OVERLAP_LIST, "".join(f"{n}\n" for n in names))
        overlap = (root, out / OVERLAP_LIST)
        say(f"{TOOL}: {len(names)} training files of {root} as overlapping speech")
    elif (out / OVERLAP_LIST).exists():
        (out / OVERLAP_LIST).unlink()
    cfg = distortions_config(
        reverb_root=reverb_root,
        reverb_files=reverb_files,
        noise_dirs=noise_dirs,
        filters_dir=filters_dir,
        bandrop_files=sorted(n for n in filters if n != LOWPASS_NAME),
        overlap=overlap,
    )
    DistortionConfig.from_dict(cfg, source=str(cfg_path))  # every key and value valid
    write_json_atomic(cfg_path, cfg)
    write_stamp(cfg_path, _stamp(settings, inputs, tracked + filter_paths))
    say(
        f"{TOOL}: wrote {cfg_path} ({settings.rirs}: {len(reverb_files)} impulse responses, "
        f"{len(noise_files)} noises, {len(filters)} filters)"
    )
    return PreparedAssets(cfg_path, settings.source, made=True)


__all__ = [
    "CONFIG_NAME",
    "MUSAN_NOISES",
    "PASE_PLUS",
    "TOOL",
    "AssetError",
    "AssetSettings",
    "PreparedAssets",
    "distortions_config",
    "find_folder",
    "openslr_noise_dirs",
    "overlap_files",
    "prepare_distortions",
]
