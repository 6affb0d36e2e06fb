"""Run every benchmark: ``python -m benchmarks [--rows N] [--repeat R]``."""

from __future__ import annotations

import argparse

from benchmarks import data_layer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000, help="1-minute bars in the data benchmarks")
    parser.add_argument("--repeat", type=int, default=5, help="repeats per figure (the median is shown)")
    args = parser.parse_args()
    data_layer.run(rows=args.rows, repeat=args.repeat)


if __name__ == "__main__":
    main()
