"""``pase-make-condition``: a test condition (noise, reverb or both) of a Kaldi data dir.

New 16-bit WAVs and a data dir pointing at them.

Examples::

    pase-make-condition --condition noise --noise-list noises.list --snr 0 20 \\
        data/test data/test_noise
    pase-make-condition --condition noise+reverb --noise-list noises/ --rir-list rirs.list \\
        --snr 0 20 --seed 0 data/test data/test_noise+reverb

``--noise-list`` / ``--rir-list``: a list file (one path per line, relative to the list's
folder) or a folder of .wav/.flac/.npy files, all at 16 kHz. Each utterance gets its own noise
file, offset and SNR (uniform in --snr, dB) and RIR, drawn from a seed made of --seed and the
utterance id: the same audio on every run and machine, whatever the other utterances. RIRs are
applied with the training distortion's convolution (direct-path delay removed, energy kept),
noise with its SNR mixing, after the reverberation. The new data dir has the source's
utterance ids and tables (text, utt2spk, ...), a wav.scp of the new files (in <out>/wav unless
--wav-dir) and condition.json with every draw. A rerun with the same inputs and untouched
outputs does nothing (<out>/wav.scp.stamp.json; --force remakes it). See docs/timit.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pase.bin import cli
from pase.bin.parser_values import CONDITIONS

PROG = "pase-make-condition"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("src", type=Path, help="source data dir (wav.scp, utt2spk, text, ...)")
    p.add_argument("out", type=Path, help="output data dir")
    p.add_argument("--condition", required=True, choices=CONDITIONS, help="what to apply")
    p.add_argument("--noise-list", help="noise files: a list (one path per line) or a folder")
    p.add_argument("--rir-list", help="room impulse responses: a list or a folder")
    p.add_argument(
        "--snr",
        nargs=2,
        type=float,
        default=(0.0, 20.0),
        metavar=("LOW", "HIGH"),
        help="SNR range in dB, drawn uniformly per utterance (default 0 20)",
    )
    cli.add_seed(p)
    p.add_argument("--wav-dir", type=Path, help="folder of the new WAVs (default <out>/wav)")
    cli.add_rerun_options(p, "remake the audio")
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(a: argparse.Namespace) -> None:
    from pase.distortions.conditions import ConditionSpec, make_condition

    spec = ConditionSpec(a.condition, (a.snr[0], a.snr[1]), a.seed)
    make_condition(
        a.src,
        a.out,
        spec,
        noise_list=a.noise_list,
        rir_list=a.rir_list,
        wav_dir=a.wav_dir,
        force=a.force,
        verify=a.verify,
        say=_say,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pase-make-condition``."""
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
