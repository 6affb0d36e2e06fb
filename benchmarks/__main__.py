"""Run the benchmarks: ``python -m benchmarks [--suite data,indicators,engine,research,analysis,service]
[--rows N] [--repeat R]
[--peers all|none]``."""

from __future__ import annotations

import argparse

from benchmarks import analysis, data_layer, engine, indicators, research, service

SUITES = {"data": (data_layer.run, 10_000_000), "indicators": (indicators.run, 1_000_000),
          "engine": (engine.run, 0), "research": (research.run, 0),
          "analysis": (analysis.run, 1_000_000), "service": (service.run, 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--suite", default=",".join(SUITES), help=f"comma-separated, from {', '.join(SUITES)}")
    parser.add_argument("--rows", type=int, default=None, help="bars per workload (default: each suite's own)")
    parser.add_argument("--repeat", type=int, default=5, help="repeats per figure (the median is shown)")
    parser.add_argument("--peers", choices=("all", "none"), default="all",
                        help="engine suite: time the other engines too, or only backgrid and the plain loops")
    args = parser.parse_args()
    for name in args.suite.split(","):
        run, rows = SUITES[name]
        if name == "engine":
            engine.run(rows=args.rows or rows, repeat=args.repeat, peers=args.peers == "all")
        else:
            run(rows=args.rows or rows, repeat=args.repeat)
        print()


if __name__ == "__main__":
    main()
