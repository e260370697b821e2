"""``pase-synth-distortions``: seeded simulated noises and room impulse responses.

With the lists ``pase-make-condition`` reads (test conditions when no real ones are at hand).

Example::

    pase-synth-distortions --seed 0 data/local/simulated_distortions
    # -> noises/*.wav, rirs/*.wav, noise.list, rir.list, simulated.json

Noises cycle white, pink and brown (1/f^k spectra, 16-bit, peak 0.5); impulse responses are
simulated rooms (direct path at 1-5 ms, five early reflections, a noise tail decaying 60 dB
over RT60), RT60 spread evenly over 0.2-0.9 s. ``simulated.json`` says how they were made (the
test conditions' results cite it). A rerun with the same settings and untouched files does
nothing (``--force`` remakes them).
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli

PROG = "pase-synth-distortions"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out_dir", help="folder to write")
    cli.add_seed(p)
    p.add_argument("--num-noises", type=int, default=6, help="noise files (default 6)")
    p.add_argument("--num-rirs", type=int, default=6, help="impulse responses (default 6)")
    p.add_argument(
        "--noise-seconds", type=float, default=10.0, help="length of each noise (default 10)"
    )
    cli.add_force(p, "remake the files")
    return p


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _main(a: argparse.Namespace) -> None:
    from pase.distortions.conditions import simulate_files

    res = simulate_files(
        a.out_dir,
        seed=a.seed,
        num_noises=a.num_noises,
        num_rirs=a.num_rirs,
        noise_seconds=a.noise_seconds,
        force=a.force,
        say=_say,
    )
    print(f"{res.noise_list}\n{res.rir_list}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``pase-synth-distortions``."""
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
