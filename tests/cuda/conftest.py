"""The tiny training corpus of tests/train, for the CUDA training tests."""

from tests.train.conftest import tiny_setup  # noqa: F401
