"""Run pytest in-process and leave with `os._exit`: the temporalio Rust bridge can crash the
interpreter during finalisation (sdk-python#300), which would turn a green run red."""

from __future__ import annotations

import os
import sys

import pytest


def main() -> None:
    code = int(pytest.main(sys.argv[1:] or ["-q"]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
