"""``backgrid robustness``: does the result survive? Search, then every robustness check of the best set.

It searches the strategy's parameters as ``backgrid optimize`` does (the same search options; ``--set`` skips
the search and checks the given set), then runs :func:`backgrid.robustness.report`: trade shuffles and a
bootstrap, random entries, ±10 % jitter, 2x and 3x costs, resampled price paths, the deflated Sharpe ratio with
the trial ledger's count of trials, and the search's plateau and PBO. Progress goes to standard error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from backgrid.cli.common import command, console, error_console, options_of, progress, with_options, write_json
from backgrid.cli.listing import JSON_OPTION
from backgrid.cli.optimize import _data, _dimension, _plain, _refuse, _running, _search, search_options
from backgrid.cli.strategies import StrategyArgument, data_options, load_strategy

if TYPE_CHECKING:
    from backgrid.strategy.spec import Strategy




def _given(spec: Strategy, sets: list[str]) -> dict[str, Any]:
    """``--set fast=10`` (repeatable): a parameter set, the others at their defaults."""
    chosen = {p.param: p.default for p in spec.parameters}
    for text in sets:
        name, value = _dimension(spec, text)
        if isinstance(value, list) or hasattr(value, "low"):
            _refuse("--set", f"{text!r}: give one value (name=value)")
        chosen[name] = value
    return chosen


@command
@with_options(data_options, search_options)
def robustness(
    strategy_file: StrategyArgument,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write report.csv, report.parquet and "
                                             "robustness.html into this folder.")] = None,
    set_: Annotated[list[str] | None, typer.Option("--set", help="Check this parameter set (name=value, "
                                                   "repeatable) instead of searching for the best.")] = None,
    shuffles: Annotated[int, typer.Option("--shuffles", min=0, help="Trade-order shuffles (0: skip).")] = 10_000,
    random_runs: Annotated[int, typer.Option("--random", min=0, help="Runs with random entries (0: skip).")] = 500,
    jitter_sets: Annotated[int, typer.Option("--jitter", min=0, help="Jittered parameter sets (0: skip).")] = 50,
    paths: Annotated[int, typer.Option("--paths", min=0, help="Resampled price paths (0: skip).")] = 50,
    json_: bool = JSON_OPTION,
    **options: Any,
) -> None:
    """Search a strategy's parameters, then test whether the best set's result is real."""
    from backgrid.optimize import optimize as search_parameters  # noqa: PLC0415
    from backgrid.robustness import report  # noqa: PLC0415

    spec = load_strategy(strategy_file, **options_of(data_options, options))
    searching = options_of(search_options, options)
    search = None if set_ else _search(spec, **searching)
    data = _data(spec)
    if len(data) != 1:
        _refuse("--symbol", f"robustness checks trade one symbol, got {', '.join(data)}")
    bars = next(iter(data.values()))
    found = None
    if search is not None:
        with _running(f"{search.method} search", search.total, what="trials",
                      after="nothing was kept: run it again") as step:
            found = search_parameters(spec, bars, progress=step, **search.options)
    with progress("robustness checks"):
        checked = report(spec, bars, params=_given(spec, set_) if set_ else None, search=found,
                         shuffles=shuffles, random_runs=random_runs, jitter_sets=jitter_sets, paths=paths,
                         seed=searching["seed"])
    if json_:
        write_json({"params": {k: _plain(v) for k, v in checked.params.items()},
                    "checks": {name: {k: _plain(v) for k, v in figures.items()}
                               for name, figures in checked.sections.items()}})
    else:
        console().print(checked.summary(), soft_wrap=True)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        frame = checked.to_frame()
        frame.to_csv(out / "report.csv", index=False)
        frame.to_parquet(out / "report.parquet", index=False)
        checked.plot(out / "robustness.html")
        error_console().print(f"wrote report.csv, report.parquet, robustness.html to {out}", soft_wrap=True)
