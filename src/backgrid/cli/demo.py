"""``backgrid demo``: the main job on the built-in demo data."""

from __future__ import annotations

import typer

from backgrid.cli.common import command, console, progress, styled
from backgrid.cli.strategies import run


@command
def demo(
    symbol: list[str] = typer.Option(None, "--symbol", "-s", help="Demo symbol(s) to build; default: all of them."),
    timeframe: list[str] = typer.Option(["1m", "1h", "1d"], "--timeframe", "-t",
                                        help="Timeframe(s) to build and store."),
    fast: int = typer.Option(10, "--fast", help="Fast SMA of the demo strategy."),
    slow: int = typer.Option(50, "--slow", help="Slow SMA of the demo strategy."),
) -> None:
    """Build the SYNTHETIC demo markets, store them, and run the ready SMA-cross strategy on DEMO-SPY daily.

    The most complete end-to-end job backgrid runs today: data generation,
    validation, resampling, the local store, indicators, the engine and its metrics.
    """
    from backgrid.cli.data import series_listing  # noqa: PLC0415
    from backgrid.data.resample import resample  # noqa: PLC0415
    from backgrid.data.sources.demo import DEMO_SYMBOLS, demo_minutes  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.data.timeframe import Timeframe  # noqa: PLC0415
    from backgrid.data.validate import validate  # noqa: PLC0415

    symbols = symbol or list(DEMO_SYMBOLS)
    frames = sorted({Timeframe.parse(t) for t in timeframe})
    store = DataStore()
    infos, reports = [], []
    with progress("building demo data") as step:
        for number, name in enumerate(symbols, 1):
            step(f"generating {name} (synthetic), symbol {number} of {len(symbols)}")
            minutes = demo_minutes(name)
            for tf in frames:
                step(f"{name} {tf}: resample, validate, store")
                bars = resample(minutes, tf)
                reports.append((name, tf, validate(bars)))
                infos.append(store.write(bars))
    out = console()
    out.print(styled(("backgrid demo", "bold"), f" — SYNTHETIC data, written to {store.home}"), soft_wrap=True)
    out.print(series_listing(infos, title="Demo series in the store (synthetic)", brief=True))
    for name, tf, report in reports:
        state = styled(("ok", "green")) if report.ok and not report.warnings else styled(report.describe())
        out.print(styled(f"  validation {name} {tf}: ", state))
    out.print(styled("\n", ("Backtest", "bold"),
                     " of the ready strategy sma-cross (backgrid strategies show sma-cross):"))
    run(strategy_file="sma-cross", symbol=None, timeframe=None, start=None, end=None, cash=None,
        sweep=[f"fast={fast}", f"slow={slow}"], out=None, max_memory=None, fetch=False, report=False)
