"""Build the student distribution: ``python -m student.build_wheel [--out dist]`` prints the wheel's path."""

from __future__ import annotations

import argparse
from pathlib import Path

from student.distribution import ROOT, build_wheel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="folder for the wheel (default: dist/)")
    print(build_wheel(parser.parse_args().out))


if __name__ == "__main__":
    main()
