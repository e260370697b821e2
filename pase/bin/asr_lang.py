"""``pase-asr-lang``: the lang dir of a phone recogniser and its phone-bigram grammar.

Example::

    pase-asr-lang --text data/train/text data/lang

Writes ``phones.txt``, ``words.txt``, ``topo``, ``lang.json`` (Kaldi ``prepare_lang.sh`` for
words = phones), ``G.arpa`` (Witten-Bell bigram of the training transcripts) and ``G.fst``
(``arpa2fst`` with ``#0`` on backoff arcs).
"""

from __future__ import annotations

import argparse

from pase.bin import cli

PROG = "pase-asr-lang"


def build_parser() -> argparse.ArgumentParser:
    p = cli.parser(PROG, __doc__, examples=True)
    p.add_argument("lang_dir", help="output lang dir")
    p.add_argument("--text", required=True, help="Kaldi text of the LM training transcripts")
    p.add_argument("--phones", help="file of phone symbols (default: the 48 of the phone map)")
    p.add_argument("--phone-map", help="60-48-39 map (default: the packaged Kaldi TIMIT one)")
    p.add_argument("--silence", default="sil", help="comma-separated silence phones")
    p.add_argument("--num-states", type=int, default=3, help="HMM states per phone")
    p.add_argument("--num-sil-states", type=int, default=3, help="HMM states of silence")
    return p


def _main(a: argparse.Namespace) -> None:
    from pase.asr import steps

    print(
        steps.make_lang(
            a.lang_dir,
            a.text,
            phones=a.phones,
            phone_map=a.phone_map,
            silence=tuple(a.silence.split(",")),
            num_states=a.num_states,
            num_sil_states=a.num_sil_states,
        )
    )


def main(argv: list[str] | None = None) -> int:
    return cli.run(build_parser(), _main, argv, log=True)


if __name__ == "__main__":
    raise SystemExit(main())
