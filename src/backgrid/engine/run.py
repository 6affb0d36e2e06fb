"""``backtest``: validate inputs, allocate, run the simulator kernel, wrap the result."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from backgrid.data.bars import Bars, MultiBars
from backgrid.data.calendar import Calendar, annualisation_note, infer_calendar, session_days
from backgrid.engine import inputs as inputs_
from backgrid.engine.config import GROUPS, EngineConfig
from backgrid.engine.enums import OrderReason, OrderStatus, OrderType
from backgrid.engine.kernels import layout_nb, portfolio_nb, simulate_nb
from backgrid.engine.options import OPTIONS, defaults, unknown
from backgrid.engine.records import COLUMN_PARAMS, COLUMN_STATE, ORDER, TRADE
from backgrid.engine.result import Result
from backgrid.errors import EngineError, OptionError

__all__ = ["backtest", "kernel_params"]


def backtest(data: Any, config: EngineConfig | Mapping[str, Any] | None = None, **options: Any) -> Result:
    """Simulate trading ``data`` on signals; return a :class:`~backgrid.engine.result.Result`.

    ``options`` are the engine options of :data:`backgrid.engine.options.OPTIONS` (listed at the end):
    signals, per-bar values, and settings, which build an :class:`~backgrid.engine.config.EngineConfig`
    (``config`` gives one to start from; ``costs={...}`` groups the cost settings). Every value is checked
    against its option's unit and range, and an error names the option.

    Signals are booleans, one per bar (a Series or array), or one column per
    parameter set (a DataFrame or 2-D array: every column runs as its own account,
    side by side). ``stop_loss``, ``take_profit`` and ``trailing_stop`` are fractions
    of the entry price (0.02 = 2 %); they, ``max_bars``, ``entry_expiry`` and
    ``size`` may also give one value per column. ``size`` is read by ``size_type``:
    ``equity`` (a fraction of equity: 1.0 = all in, costs included), ``units``, ``cash`` to
    spend, ``risk`` (the fraction of equity lost if the stop-loss fills) or
    ``volatility`` (an annualised volatility target: equity x size /
    (``volatility`` x price) units, at most leverage x equity). ``lot_size`` rounds
    quantities down (1 = whole shares; 0 = any fraction). Orders decided at a bar's
    close fill at the next open unless ``fill="same_close"``. An entry cash cannot
    cover is refused, or with ``partial_fills=True`` filled for the affordable part.

    Per-bar values (a number, a (n,) or (n, columns) array, or a Series / DataFrame
    on the data's dates; NaN = none) are read at the bar whose close decides:
    ``stop_loss_distance`` and ``take_profit_distance`` are price distances from the
    entry fill, fixed for the trade (e.g. 2 x ATR); ``trailing_stop_distance`` trails
    the best price, the distance at each bar applying to the next bar's test;
    ``volatility`` is the asset's annualised volatility for ``size_type="volatility"``
    (e.g. ``hist_vol(...) / 100``). A stop is given as a fraction or as a
    distance, not both.

    ``entry_type="limit"`` or ``"stop"`` turns entries into orders at
    ``entry_price`` (per bar, taken at the signal's close: the buy price on a long
    signal's bar, the sell price on a short signal's) that work for
    ``entry_expiry`` bars (default 1) from the next bar: a buy limit fills once the
    low reaches it (at the open if the bar opens below), a buy stop once the high
    does (at the open if above); sells mirrored. An exit signal of its side or a
    new entry signal cancels a working order. See
    :mod:`backgrid.engine.kernels.simulate_nb` for every rule, and ``Result.orders``
    for each fill and each order that did not fill.

    ``break_even`` (a fraction of the entry fill price; one value or one per
    column, like ``trailing_stop``) moves the stop-loss level to the entry fill
    price once the best price since entry has moved that far in the position's
    favour (long: best >= entry x (1 + break_even); short: best <= entry x
    (1 - break_even)), when the entry is better than the level it has (also
    without a stop-loss). Like the trail it is decided on a bar's extreme and
    applies from the next bar's test; its fill is a ``stop_loss`` exit.

    ``flat_at`` (booleans per bar, given like ``exits``) ends a session: at a True
    bar an open position closes at that bar's close, after that bar's stops (exit
    reason ``session``), a working limit / stop entry order is cancelled, and that
    close decides nothing (its signals are ignored, no order waits for the next
    open). Set it on each session's last bar to be flat at the session close
    rather than at the next session's open.

    Risk guards (one value or one per column; one number for a portfolio, whose
    account they guard): the equity "at a close" is the positions marked at that
    close, before any fill at it. ``drawdown_limit`` (0 < x < 1) halts the account
    for the rest of the run once that equity is at or below (1 - x) x the peak of
    the equity curve so far (the starting cash included); ``daily_loss_limit``
    (0 < x < 1) halts it until the next trading day (the data calendar's session
    date; see :func:`backgrid.data.calendar.session_days`) once that equity is at
    or below (1 - x) x the equity at the previous trading day's last bar (the
    starting cash on the first day). A halt exits every position by an exit
    decided at that close (filled like a signal exit: next open, or that close with
    ``fill="same_close"``; exit reason ``risk``), cancels working limit / stop
    entry orders, and ignores signals while it lasts (``Result.state["halt_bar"]``:
    the bar of a drawdown_limit halt, -1 for none). ``max_exposure`` (> 0) cuts
    an entry's units so that the gross value of the account's positions after its
    fill (|units| x price, other positions at the marks the entry is sized on) is
    at most x times the equity it is sized on, rounded down to the lot; an entry
    with nothing left is refused (order reason ``max_exposure``). For one asset it
    caps the position's value at x times equity.

    Ruin: at a close where the account's equity (positions marked at that close)
    is <= 0, every position is closed at that close (exit reason ``ruin``),
    working and waiting orders are cancelled and the account stops trading for the
    rest of the run, like backtesting.py. Its equity is 0 from that bar on; trades
    keep their real PnL, and what the close-out left below zero (a short gapping
    up, leverage) is ``Result.state["deficit"]`` (<= 0), the bar
    ``Result.state["ruin_bar"]`` (-1 for none).

    ``maintenance_margin`` (0 < x < min(1, 1 / ``leverage``); one value or one per
    column, for a portfolio one per symbol; None: no margin calls) liquidates a
    position when the account's equity falls below x times its gross position
    value. It is tested inside the bar like a stop: a long on borrowed cash C < 0
    holding u units is called at P* = -C / (u (1 - x)), a short of u units at
    P* = C / (u (1 + x)); the fill is at P* (the open on a gap), reason
    ``margin_call``, and when a stop-loss is touched in the same bar the level
    nearer the open fills. A portfolio is one account: an asset's level counts the
    other positions at their open (their last close without a bar), and a call
    closes every position (the others at those marks). The account trades on.
    ``leverage`` is the initial margin: an entry is refused when its value and
    commission exceed cash x leverage. ``Result.ledger()`` shows the margin used
    and free.

    Several symbols (``MultiBars``, a dict or a list of Bars) trade from ONE cash
    account on the union of their timestamps: signals then have one column per
    symbol (DataFrame columns named by symbol), exits fill before entries and
    entries in symbol order, and ``max_positions`` caps the open positions.

    Corporate actions: Bars (one or several) that carry ``split_factor`` / ``dividend`` columns have them
    applied at the ex-bar's open, before its fills, as their ``adjustment`` allows (``"raw"``: splits and
    dividends, ``"splits"``: dividends, ``"total"``: none; a DataFrame input carries none);
    ``corporate_actions=False`` applies none. A split of ratio r multiplies the units held by r and divides the
    entry price, the stop, take-profit and trailing levels and a working order's price by r (no cash moves);
    with ``lot_size`` the units are rounded down to whole units (to the lot, where it is below one unit) and the
    fraction is paid as cash in lieu at that open, its PnL in the trade's. A dividend D pays units x D to the
    position held over the previous close (a short pays it): the trade's ``dividends``, part of its PnL.

    ``periods_per_year`` overrides the annualisation the calendar implies (see
    :func:`backgrid.metrics.periods_per_year`), e.g. for data with holidays.

    A run that cannot trade says why in ``Result.warnings`` (signals that miss every bar, no entry signal,
    every order sized to nothing).

    >>> from backgrid.data.sources.demo import demo_bars
    >>> bars = demo_bars("DEMO-SPY", "1d")
    >>> fast, slow = bars.to_pandas().close.rolling(10).mean(), bars.to_pandas().close.rolling(30).mean()
    >>> result = backtest(bars, entries=fast > slow, exits=fast < slow, costs={"commission": 0.001})
    >>> result.stats["trades"] > 0
    True
    """
    cfg, inputs = _split(config, options)
    warnings: list[str] = []
    ts, prices, bar_ns, index, symbols = inputs_.prices(data)
    n = ts.size
    signals = {name: inputs_.signal(name, inputs.get(name), index, symbols, warnings) for name in _SIGNALS}
    per_bar = {name: inputs_.per_bar(name, inputs.get(name), index, symbols) for name in _PER_BAR}
    widths = {name: s.shape[1] for name, (s, _) in signals.items() if s.shape[1] > 1}
    widths |= {name: v.shape[0] for name, v in per_bar.items() if v.shape[0] > 1}
    m = len(symbols) if symbols else max([*widths.values(), cfg.columns])
    if cfg.columns not in (1, m):
        name = next(k for k, v in cfg.items() if isinstance(v, tuple) and len(v) == cfg.columns)
        what = f"{m} symbols (one value per symbol)" if symbols else f"{m} column(s) (one value per column)"
        msg = f"{name} has {cfg.columns} values, but the run has {what}"
        raise OptionError(msg, option=name)
    if any(w != m for w in widths.values()):
        msg = f"signal columns disagree: {widths}; every 2-D signal or per-bar value needs {m} columns"
        raise EngineError(msg)
    labels = next((lab for name, (_, lab) in signals.items() if lab is not None and name != "flat_at"), None)
    _check_inputs(cfg, inputs, portfolio=symbols is not None)
    params = kernel_params(cfg, m)
    flat_at = signals.pop("flat_at")[0]
    flat = flat_at if inputs.get("flat_at") is not None else None
    trades, trade_start, orders, order_start = _buffers(signals["entries"][0], signals["short_entries"][0], m)
    o, h, lo, c = (prices[name] for name in inputs_.PRICES)
    # a signal not given is None: the kernels compiled for it read nothing (most runs give two of the four)
    e, x, se, sx = (None if inputs.get(name) is None else np.broadcast_to(s, (n, m)) if symbols else s
                    for name, (s, _) in signals.items())
    calendar = data.calendar if isinstance(data, Bars) else infer_calendar(ts)
    flat, day = _session_inputs(flat, m=m, portfolio=symbols is not None, params=params, ts=ts, data=data,
                                calendar=calendar)
    actions = inputs_.actions(data, ts) if cfg.corporate_actions else None
    state = _initial_state(params, trade_start, order_start, day)
    accounts = 1 if symbols else m
    keep = cfg.keep_equity or symbols is not None
    equity = np.empty((n if keep else 0, accounts), order="F")  # each column's kernel writes its own curve whole
    summary = np.empty((accounts, 2))
    # the kernels' grouped arguments (see the simulate_nb module docstring)
    ohlc, signal_arrays, per_bar_arrays = (o, h, lo, c), (e, x, se, sx), tuple(per_bar.values())
    modes = _modes(cfg, params, per_bar)
    if symbols:
        cash_out = np.empty(n)
        portfolio_nb.portfolio_nb(ts, bar_ns, ohlc, signal_arrays, flat, day, actions, per_bar_arrays, params,
                                  modes, (float(cfg.cash), cfg.max_positions or m),
                                  (state, trades, trade_start, orders, equity[:, 0], cash_out, summary))
    else:
        kernel = simulate_nb.simulate_parallel_nb if m > 1 else simulate_nb.simulate_nb
        kernel(ts, bar_ns, ohlc, np.zeros(m, np.int64), signal_arrays, flat, day, actions, per_bar_arrays, params,
               modes, (state, trades, trade_start, orders, equity, summary))
    order_records = _compact(orders, order_start, state["ko"])
    trade_records = _compact(trades, trade_start, state["k"])
    if not warnings and not trade_records.size:  # only a run without a trade is asked why
        warnings += _cannot_trade(signals, order_records, m)
    note = annualisation_note(calendar, bar_ns) if cfg.periods_per_year is None else None
    warnings += [note] if note is not None else []  # the statistics' annualisation rests on a guessed calendar
    warnings += _ruined(state[:accounts], index, labels if labels is not None else range(accounts))
    return Result(trades=trade_records, equity=equity, summary=summary, state=state,
                  index=index, labels=["portfolio"] if symbols else labels, params=params[:accounts],
                  prices=prices, calendar=calendar, bar_ns=bar_ns, assets=symbols,
                  periods_per_year=cfg.periods_per_year, orders=order_records, config=cfg, warnings=warnings,
                  splits=actions[0] if actions is not None and (actions[0] != 1.0).any() else None)


_SIGNALS = tuple(name for name, o in OPTIONS.items() if o.scope == "signal")
_PER_BAR = ("stop_loss_distance", "take_profit_distance", "trailing_stop_distance", "entry_price", "volatility")
assert set(_PER_BAR) == {name for name, o in OPTIONS.items() if o.scope == "bar"}  # noqa: S101  # kernel order


def _split(config: EngineConfig | Mapping[str, Any] | None, options: dict[str, Any],
           ) -> tuple[EngineConfig, dict[str, Any]]:
    """The run's settings as a config, and its inputs (signals and per-bar values) by name."""
    inputs = {k: v for k, v in options.items() if k in OPTIONS and OPTIONS[k].scope in ("signal", "bar")}
    settings = {k: v for k, v in options.items() if k not in inputs}
    for group in GROUPS:
        grouped = settings.pop(group, None)
        if grouped is None:
            continue
        if not isinstance(grouped, Mapping):
            msg = f"{group} must be a dict of {group} options, got {type(grouped).__name__}"
            raise OptionError(msg, option=group)
        members = [name for name, o in OPTIONS.items() if o.group == group]
        unknown(list(grouped), allowed=dict.fromkeys(members))
        twice = sorted(set(grouped) & set(settings))
        if twice:
            msg = f"{', '.join(twice)} given both inside {group}= and on its own; give it once"
            raise OptionError(msg, option=twice[0])
        settings |= dict(grouped)
    unknown(list(settings), allowed=dict.fromkeys([*defaults(), *GROUPS]))
    if config is None:
        return EngineConfig(**settings), inputs
    base = config if isinstance(config, EngineConfig) else EngineConfig.from_dict(config)
    return (base.replace(**settings) if settings else base), inputs


def _modes(cfg: EngineConfig, params: np.ndarray, per_bar: dict[str, np.ndarray]) -> tuple[Any, ...]:
    """The kernels' ``modes``: the fill and stop policies, and True or None for each feature a run may not use.

    A kernel compiled for None holds none of that feature's code (break-even, stop levels, the trail, margin
    calls): a run pays only for what it uses.
    """
    break_even_on = True if (params["break_even"] > 0).any() else None
    trail_on = True if (params["trailing_stop"] > 0).any() or per_bar["trailing_stop_distance"].size else None
    margin_on = True if (params["maintenance_margin"] > 0).any() else None
    stops_on = True if (trail_on or margin_on or break_even_on or (params["stop_loss"] > 0).any()
                        or (params["take_profit"] > 0).any() or per_bar["stop_loss_distance"].size
                        or per_bar["take_profit_distance"].size) else None
    return break_even_on, cfg.fill == "same_close", cfg.stop_policy == "ohlc_path", stops_on, trail_on, margin_on


def _buffers(entries: np.ndarray, short_entries: np.ndarray, m: int,
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Trade and order buffers, each column owning the rows from its start: enough for every entry signal.

    Each entry signal ends as at most one entry order (filled, refused, expired or cancelled) and each entry
    fill as at most one exit; one more trade row holds a position still open at the end. Left uninitialised:
    the kernels write every field of each row they use, and only those rows are kept (:func:`_compact`).
    """
    capacity = (np.broadcast_to(layout_nb.count_true_nb(entries), (m,))
                + np.broadcast_to(layout_nb.count_true_nb(short_entries), (m,)) + 1)
    trade_start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(capacity, out=trade_start[1:])
    order_start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(2 * capacity, out=order_start[1:])
    return (np.empty(int(trade_start[-1]), dtype=TRADE), trade_start, np.empty(int(order_start[-1]), dtype=ORDER),
            order_start)


def kernel_params(config: EngineConfig, m: int) -> np.ndarray:
    """The kernels' per-column record (``records.COLUMN_PARAMS``) of ``config`` for ``m`` columns."""
    params = np.zeros(m, dtype=COLUMN_PARAMS)
    for name, option in OPTIONS.items():
        if not option.record:
            continue
        if option.kind == "choice":
            params[name] = option.code(config[name])
            continue
        params[name] = [option.record_none if v is None else v for v in config.each(name)]
    params["slippage_abs"] = config.slippage_ticks * config.tick_size
    return params


def _check_inputs(cfg: EngineConfig, inputs: dict[str, Any], *, portfolio: bool) -> None:
    """Reject settings that cannot work with the inputs given, naming the options involved."""
    for fraction in ("stop_loss", "take_profit", "trailing_stop"):
        distance = f"{fraction}_distance"
        if cfg[fraction] is not None and inputs.get(distance) is not None:
            msg = (f"{fraction} (a fraction of the price) and {distance} (a price distance) are two forms of one "
                   f"stop; give one of them, not both")
            raise OptionError(msg, option=distance)
    if cfg.entry_type == "market" and inputs.get("entry_price") is not None:
        msg = "entry_price applies to limit and stop entries; set entry_type='limit' or 'stop' (got 'market')"
        raise OptionError(msg, option="entry_price")
    if cfg.entry_type != "market" and inputs.get("entry_price") is None:
        msg = (f"entry_type={cfg.entry_type!r} needs entry_price: the {cfg.entry_type} price of each bar's entry "
               f"signal")
        raise OptionError(msg, option="entry_price")
    if (cfg.size_type == "volatility") != (inputs.get("volatility") is not None):
        msg = ("size_type='volatility' needs volatility: the asset's annualised volatility per bar (0.2 = 20 %)"
               if cfg.size_type == "volatility" else
               f"volatility is read by size_type='volatility' only; got size_type={cfg.size_type!r}")
        raise OptionError(msg, option="volatility")
    stops = cfg.each("stop_loss")
    if cfg.size_type == "risk" and inputs.get("stop_loss_distance") is None and any(s is None for s in stops):
        msg = ("size_type='risk' needs a stop_loss or a stop_loss_distance on every column (the risk is measured "
               "to the stop)")
        raise OptionError(msg, option="stop_loss")
    if portfolio:
        for name in ("drawdown_limit", "daily_loss_limit", "max_exposure"):
            if isinstance(cfg[name], tuple) and len(cfg[name]) > 1:
                msg = (f"{name} guards the portfolio's one cash account: give one number, got {len(cfg[name])} "
                       f"values")
                raise OptionError(msg, option=name)


def _ruined(state: np.ndarray, index: Any, labels: Any) -> list[str]:
    """A line for each account that went broke: when, and what was left below zero."""
    lines = []
    for label, ruin_bar, deficit in zip(list(labels), state["ruin_bar"].tolist(), state["deficit"].tolist(),
                                        strict=True):
        if ruin_bar >= 0:
            where = "" if len(state) == 1 else f"column {label}: "
            owed = f"; the close-out left a deficit of {-deficit:,.2f}" if deficit < 0 else ""
            lines.append(f"{where}the account was ruined at the close of {index[ruin_bar]} (bar {ruin_bar}): its "
                         f"equity reached zero, every position was closed there and it stopped trading{owed}")
    return lines


def _cannot_trade(signals: dict[str, tuple[np.ndarray, Any]], orders: np.ndarray, m: int) -> list[str]:
    """Why a run made no trade, when it can be told: no entry signal, or every entry sized to nothing."""
    if not (signals["entries"][0].any() or signals["short_entries"][0].any()):
        return ["no entry signal fired: entries and short_entries are False on every bar"]
    entries = orders[orders["type"] <= OrderType.STOP]
    if entries.size and not (entries["status"] == OrderStatus.FILLED).any():
        zero = int((entries["reason"] == OrderReason.SIZE_ZERO).sum())
        if zero == entries.size:
            where = "" if m == 1 else f" in every one of the {m} columns"
            return [(f"every entry order ({zero:,}) was sized to nothing{where}: the size rounds to zero units "
                    "(lot_size larger than what size buys, risk sizing without a stop distance, or no volatility)")]
    return []

def _initial_state(params: np.ndarray, trade_start: np.ndarray, order_start: np.ndarray,
                   day: np.ndarray | None) -> np.ndarray:
    """Each column's ``records.COLUMN_STATE`` before the first bar (see the kernel's array conventions)."""
    state = np.zeros(params.size, dtype=COLUMN_STATE)
    state["k"] = trade_start[:-1]
    state["ko"] = order_start[:-1]
    state["ko_end"] = order_start[1:]
    for field in ("sl_px", "tp_px", "trail_d", "o_sl", "o_tp", "o_vol", "w_px"):
        state[field] = np.nan
    state["halt_bar"] = state["ruin_bar"] = -1
    state["day"] = day[0] if day is not None and day.size else 0
    state["day_ref"] = state["equity"] = params["cash"]
    return state


def _session_inputs(flat: np.ndarray | None, *, m: int, portfolio: bool, params: np.ndarray, ts: np.ndarray,
                    data: Any, calendar: Calendar) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The kernels' ``flat`` and ``day`` arguments: None when no column reads them (``day`` dated by
    :func:`_day_calendar` of ``data`` and ``calendar``, looked up only then).

    The kernels compiled for None hold none of the session's and the guards' code, so runs without them
    keep their speed (a branch on a runtime flag in the bar loop cost 5-10 % there).
    """
    if flat is not None and portfolio:
        flat = np.broadcast_to(flat, (flat.shape[0], m))
    guarded = (params["drawdown_limit"] > 0) | (params["daily_loss_limit"] > 0)
    return flat, session_days(ts, _day_calendar(data, calendar)) if guarded.any() else None


def _day_calendar(data: Any, calendar: Calendar) -> Calendar:
    """The calendar that dates a bar's trading day: the symbols' own when they share one, else ``calendar``."""
    bars = list(data.values()) if isinstance(data, MultiBars | dict) else data if isinstance(data, list) else []
    shared = {b.calendar for b in bars if isinstance(b, Bars)}
    return shared.pop() if len(shared) == 1 else calendar


def _compact(records: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """The rows ``start[j]`` up to ``stop[j]`` of every column ``j``, moved together in place; a view.

    Columns own fixed slices of one buffer, partly used. Moving the used rows down in place (as raw bytes:
    a structured copy goes field by field; in a kernel: a Python loop cost ~25 ms on a 1,590-column sweep)
    touches no new memory, where a gather would fault in a second buffer as large as the rows kept (hundreds
    of MB on a wide sweep).
    """
    return records[:layout_nb.compact_rows_nb(records.view(np.uint8), records.dtype.itemsize, start, stop)]
