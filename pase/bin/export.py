"""``pase-export``: write an encoder as a TorchScript or ONNX file, checked against eager.

Examples::

    pase-export --fe-cfg PASE+ --ckpt FE_e199.ckpt --format torchscript exp/pase+.pt
    pase-export --fe-cfg PASE+ --ckpt FE_e199.ckpt --format onnx exp/pase+.onnx

The file holds the eval-mode encoder, ``(B, 1, L)`` 16 kHz samples -> ``(B, 256, T)``
frames, for any batch size and any length of at least the encoder's minimum. After writing
it the command loads it back (TorchScript: torch.jit.load; ONNX: onnxruntime) and compares it
with the eager encoder on a random input of another length than the export example; a
difference above --tolerance is an error. Limits in docs/integrations.md.
"""

from __future__ import annotations

import argparse
import sys

from pase.bin import cli
from pase.bin.parser_values import EXPORT_FORMATS

PROG = "pase-export"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("out", help="file to write (e.g. exp/pase+.pt or exp/pase+.onnx)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="torchscript", help="file format")
    cli.add_fe_cfg(p)
    cli.add_ckpt(p)
    cli.add_seed(p, help="seed of the random weights without --ckpt, and of the check input")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument(
        "--check-samples",
        type=int,
        default=24253,
        help="length in samples of the random check input (default 24253)",
    )
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-4,
        help="largest allowed |exported - eager| on the check input (default 1e-4)",
    )
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.export import export_encoder
    from pase.extract import load_encoder

    model = load_encoder(a.fe_cfg, a.ckpt, "cpu", seed=a.seed)
    report = export_encoder(
        model,
        a.out,
        a.format,
        check_samples=a.check_samples,
        opset=a.opset,
        tolerance=a.tolerance,
        seed=a.seed,
    )
    print(
        f"{PROG}: {a.fe_cfg} encoder as {report.format} in {report.path}; reloaded, "
        f"max |diff| {report.max_abs_diff:.2g} vs eager on {report.check_samples} samples "
        f"(exported with {report.export_samples})",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv)


if __name__ == "__main__":
    sys.exit(main())
