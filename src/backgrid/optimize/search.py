"""``optimize``: search a strategy's parameters for the best objective, on a grid, at random or with Optuna.

Every method evaluates parameter sets in batches, each batch as the columns of one engine call (split into
chunks that fit the memory budget and fanned out over processes or a Dask cluster):

* ``grid``: every combination of the space's values that meets its conditions;
* ``random``: ``trials`` sets drawn uniformly (log-uniformly where asked), seeded;
* ``tpe`` (default of Optuna), ``cmaes``, ``qmc``, ``nsga2``, ``nsga3``: Optuna's samplers, asked ``batch``
  sets at a time, told their results together (TPE with the constant liar, so a batch spreads out).

Several objectives give a Pareto front (``tpe``, ``qmc``, ``nsga2``, ``nsga3``, ``grid``, ``random``). A set
that breaks a constraint stays in the trials table, marked infeasible, and is never the best; Optuna's
samplers that take constraints (TPE, NSGA-II/III) are told how far it is from meeting them.

A study given a folder (``study=``) persists after each batch and resumes where it stopped when run again
with the same settings (see :mod:`backgrid.optimize.study`). Scaled out, ``storage=`` is a database URL:
Optuna's RDB storage with heartbeats, where a trial whose worker died is failed and retried by the next
worker.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.engine.result import Result
from backgrid.errors import OptimizeError
from backgrid.metrics.registry import METRICS, periods_per_year
from backgrid.optimize.evaluate import DEFAULT_METRICS, CodeTarget, Data, DocumentTarget, Target, chunks, evaluate
from backgrid.optimize.fanout import Runner
from backgrid.optimize.ledger import TrialLedger
from backgrid.optimize.objective import Constraint, Objective, parse_constraints, parse_objectives
from backgrid.optimize.space import Space
from backgrid.optimize.study import StudyFolder, data_key, fingerprint
from backgrid.strategy.code import CodeStrategy
from backgrid.strategy.document import load
from backgrid.strategy.footprint import parse_bytes
from backgrid.strategy.spec import Strategy

__all__ = ["METHODS", "OptimizeResult", "as_target", "optimize", "pareto_front"]

METHODS = ("grid", "random", "tpe", "cmaes", "qmc", "nsga2", "nsga3")
_OPTUNA = frozenset(METHODS) - {"grid", "random"}
_SINGLE_OBJECTIVE = frozenset({"cmaes"})
#: default memory budget of an optimisation (bytes): chunks of parameter sets are cut to fit it
DEFAULT_MEMORY = 2 * 2**30
#: trials an Optuna sampler is asked for at once by default (one engine call per batch)
DEFAULT_BATCH = 16
#: seconds between heartbeats of a trial in a database storage (it is failed after twice that without one)
HEARTBEAT_SECONDS = 10

Progress = Callable[[int, int], None]


def as_target(strategy: Any, options: Mapping[str, Any] | None = None) -> Target:
    """The optimiser's view of ``strategy``: a document (model, dict or file path) or a code strategy class."""
    if isinstance(strategy, Strategy):
        target: Target = DocumentTarget(strategy)
    elif isinstance(strategy, str | Path):
        target = DocumentTarget(load(strategy))
    elif isinstance(strategy, type) and issubclass(strategy, CodeStrategy):
        return CodeTarget(strategy, dict(options or {}))
    elif hasattr(strategy, "run") and hasattr(strategy, "parameters"):
        target = strategy
    else:
        msg = (f"cannot optimise {type(strategy).__name__}: give a strategy document (Strategy, path) or a "
               "CodeStrategy subclass")
        raise OptimizeError(msg)
    if options:
        msg = "backtest options go with a code strategy; a document sets them itself (costs, sizing...)"
        raise OptimizeError(msg)
    return target


def pareto_front(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Which rows of ``values`` (trials x objectives) no other row dominates (NaN rows never belong)."""
    signs = np.asarray([1.0 if d == "maximize" else -1.0 for d in directions])
    scores = values * signs
    finite = np.isfinite(scores).all(axis=1)
    front = np.zeros(len(scores), dtype=np.bool_)
    candidates = np.flatnonzero(finite)
    for i in candidates:
        others = scores[candidates]
        dominated = np.any(np.all(others >= scores[i], axis=1) & np.any(others > scores[i], axis=1))
        front[i] = not dominated
    return front


@dataclass
class OptimizeResult:
    """Every trial of a search, the best parameter set, and plots.

    ``trials`` has one row per evaluated set (index ``trial``): the varied parameters, the objective(s)
    (``value``, or ``value_0``, ``value_1``... with several), ``feasible`` (constraints met), ``state``, and the
    metrics recorded.
    """

    trials: pd.DataFrame
    space: Space
    objectives: list[Objective]
    constraints: list[Constraint]
    method: str
    target: Target
    data: Data
    study: Path | None = None
    #: what the trial ledger holds for the family after this search (None without a ledger)
    ledger_trials: int | None = None
    _values: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._values = value_columns(len(self.objectives))

    @property
    def params(self) -> list[str]:
        """The varied parameters' names."""
        return self.space.names

    def _ranked(self) -> pd.DataFrame:
        usable = self.trials[self.trials["feasible"] & np.isfinite(self.trials[self._values[0]])]
        if usable.empty:
            msg = (f"no trial is feasible with a defined objective among {len(self.trials)}: "
                   f"{self._why_none()}")
            raise OptimizeError(msg)
        if len(self.objectives) > 1:
            usable = usable[self.pareto_mask(usable)]
        ascending = self.objectives[0].direction == "minimize"
        ranked: pd.DataFrame = usable.sort_values(self._values[0], ascending=ascending, kind="stable")
        return ranked

    def _why_none(self) -> str:
        if self.trials.empty:
            return "nothing was evaluated"
        if self.constraints and not self.trials["feasible"].any():
            return "every trial breaks a constraint (" + ", ".join(c.text for c in self.constraints) + ")"
        return f"{self.objectives[0].name} is undefined in every feasible trial (no trade?)"

    def pareto_mask(self, frame: pd.DataFrame | None = None) -> np.ndarray:
        """Which of ``frame``'s (default: the feasible trials') rows are on the Pareto front."""
        frame = self.trials[self.trials["feasible"]] if frame is None else frame
        return pareto_front(frame[self._values].to_numpy(dtype=np.float64), [o.direction for o in self.objectives])

    @property
    def pareto(self) -> pd.DataFrame:
        """The feasible trials that no other feasible trial beats on every objective."""
        feasible = self.trials[self.trials["feasible"]]
        return feasible[self.pareto_mask(feasible)]

    @property
    def best_trial(self) -> pd.Series:
        """The best feasible trial (several objectives: the Pareto trial best on the first); ties: the first."""
        best: pd.Series = self._ranked().iloc[0]
        return best

    @property
    def best(self) -> dict[str, Any]:
        """The best parameter set, fixed parameters included (ready for ``strategy.run`` or a document)."""
        row = self.best_trial
        return self.space.full({name: _plain(row[name]) for name in self.params})

    @property
    def best_value(self) -> float:
        """The best trial's (first) objective."""
        return float(self.best_trial[self._values[0]])

    def backtest(self, values: Mapping[str, Any] | None = None) -> Result:
        """Run the best set (or ``values``) again and return the engine's full result."""
        return self.target.run(self.data, [dict(values) if values is not None else self.best])

    def figures(self) -> list[Any]:
        """Plotly figures: trial history, the heatmap of the first two parameters, slices, parallel coordinates,
        and the Pareto front with several objectives."""
        from backgrid.charts import trials as charts  # noqa: PLC0415  # plotly is imported for plots only

        title = self.target.name
        value, direction = self._values[0], self.objectives[0].direction
        figures = [charts.history(self.trials, value, direction, title=title)]
        params = self.params
        figures.append(charts.heatmap(self.trials, params[0], params[1] if len(params) > 1 else None, value,
                                      agg="max" if direction == "maximize" else "min", title=title))
        figures.append(charts.slices(self.trials, params, value, title=title))
        if len(params) > 1:
            figures.append(charts.parallel(self.trials, params, value, title=title))
        if len(self.objectives) > 1:
            pairs = [(v, o.direction) for v, o in zip(self._values, self.objectives, strict=True)]
            figures.append(charts.pareto(self.trials, pairs, title=title))
        return figures

    def plot(self, path: str | Path) -> Path:
        """Write :meth:`figures` to one self-contained HTML file; returns its path."""
        from backgrid.charts.trials import save_html  # noqa: PLC0415  # plotly is imported for plots only

        return Path(save_html(self.figures(), path, title=f"{self.target.name}: {self.method} search"))

    def summary(self) -> str:
        """A few plain lines: what was searched, how many trials, the best set and its objective."""
        feasible = int(self.trials["feasible"].sum())
        objectives = ", ".join(o.describe() for o in self.objectives)
        head = (f"{self.method} search of {', '.join(self.params)} for {self.target.name}: {len(self.trials)} "
                f"trial(s), {feasible} feasible; {objectives}")
        lines = [head]
        try:
            best = ", ".join(f"{k}={v}" for k, v in self.best.items())
            lines.append(f"best: {best} ({self._values[0]} {self.best_value:.6g})")
        except OptimizeError as exc:
            lines.append(str(exc))
        return "\n".join(lines)


def value_columns(count: int) -> list[str]:
    """``["value"]`` for one objective, ``["value_0", "value_1", ...]`` for several."""
    return ["value"] if count == 1 else [f"value_{k}" for k in range(count)]


@dataclass(frozen=True)
class _Plan:
    target: Target
    data: Data
    space: Space
    objectives: list[Objective]
    constraints: list[Constraint]
    metrics: list[str] | None
    per_set: float
    budget: float

    def score(self, sets: list[dict[str, Any]], stats: pd.DataFrame, first: int) -> pd.DataFrame:
        """The trials table rows of evaluated ``sets`` (numbered from ``first``)."""
        frame = pd.DataFrame([{name: values[name] for name in self.space.names} for values in sets])
        for column, objective in zip(value_columns(len(self.objectives)), self.objectives, strict=True):
            frame[column] = objective.values(stats)
        feasible = np.ones(len(sets), dtype=np.bool_)
        for constraint in self.constraints:
            feasible &= constraint.holds(stats)
        frame["feasible"] = feasible
        frame["state"] = "complete"
        frame = pd.concat([frame, stats.drop(columns=[c for c in stats if c in frame])], axis=1)
        frame.index = pd.RangeIndex(first, first + len(sets), name="trial")
        return frame


def _run_chunk(sets: list[dict[str, Any]], target: Target, data: Data, metrics: list[str] | None) -> pd.DataFrame:
    return evaluate(target, data, sets, metrics)


def optimize(strategy: Any, data: Data, *, method: str = "grid", trials: int | None = None,
             objective: str | Callable[[pd.Series], float] | Sequence[Any] = "sharpe_ratio",
             direction: str | Sequence[str] | None = None, constraints: str | Sequence[str] | None = None,
             space: Space | Mapping[str, Any] | None = None, conditions: Sequence[str] = (),
             metrics: Sequence[str] | None = None, seed: int = 0, batch: int | None = None, jobs: int = 1,
             cluster: Any = None, memory: int | str = DEFAULT_MEMORY, study: str | Path | None = None,
             storage: str | None = None, resume: bool = True, ledger: TrialLedger | bool = True,
             family: str | None = None, progress: Progress | None = None,
             options: Mapping[str, Any] | None = None) -> OptimizeResult:
    """Search ``strategy``'s parameters on ``data`` for the best ``objective`` (see the module docstring).

    ``strategy`` is a document (a :class:`~backgrid.strategy.spec.Strategy` or its path) or a
    :class:`~backgrid.strategy.code.CodeStrategy` subclass (``options``: its account-wide backtest options).
    ``space`` narrows the declared parameters (``{"fast": Int(5, 50)}``); ``conditions`` relate them
    (``"fast < slow"``). ``trials`` is how many sets a random or Optuna search evaluates (the grid's size is
    its own). ``metrics`` are recorded for every trial besides the objectives and constraints. ``jobs``
    processes (or the Dask ``cluster``, an address or a ``distributed.Client``) share each batch; ``memory``
    bounds each batch's footprint (``"2GB"``). ``study`` is a folder that keeps the trials and resumes
    (``resume=False`` starts afresh); ``storage`` an Optuna database URL. Every evaluated set is also recorded
    in the trial ledger (``ledger``) under ``family`` (the strategy's name), for the deflated Sharpe ratio.
    ``progress(done, total)`` is called after each batch.
    """
    if method not in METHODS:
        msg = f"method must be one of {', '.join(METHODS)}, got {method!r}"
        raise OptimizeError(msg)
    target = as_target(strategy, options)
    the_space = (space if isinstance(space, Space)
                 else Space.from_parameters(target.parameters, space, conditions=conditions))
    if isinstance(space, Space) and conditions:
        msg = "give the conditions to the Space itself"
        raise OptimizeError(msg)
    objectives = parse_objectives(objective, direction)  # type: ignore[arg-type]  # checked inside
    if len(objectives) > 1 and method in _SINGLE_OBJECTIVE:
        msg = f"{method} optimises one objective; for several use nsga2, nsga3, tpe, qmc, grid or random"
        raise OptimizeError(msg)
    checked = parse_constraints(constraints)
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        msg = f"batch must be a whole number >= 1, got {batch!r}"
        raise OptimizeError(msg)
    n_trials = _trial_count(method, trials, the_space)
    metrics_list = _metrics(objectives, checked, metrics, ledger=ledger is not False and ledger is not None)
    budget = parse_bytes(memory) if isinstance(memory, str) else int(memory)
    plan = _Plan(target, data, the_space, objectives, checked, metrics_list, target.set_bytes(data), budget)
    folder = StudyFolder(study) if study is not None else None
    spec = {"strategy": _strategy_key(target), "data": data_key(data), "space": the_space.describe(),
            "method": method, "objectives": [o.describe() for o in objectives],
            "constraints": [c.text for c in checked], "seed": seed,
            "metrics": None if metrics is None else list(metrics)}
    resumed = folder.open(spec, resume=resume) if folder is not None else resume
    book = (TrialLedger() if ledger is True else ledger) or None
    recorder = _Recorder(book, family or target.name, data, the_space)
    with Runner(jobs, cluster) as run:
        if method in _OPTUNA:
            frame = _optuna_search(plan, run, method=method, n_trials=n_trials, seed=seed,
                                   batch=DEFAULT_BATCH if batch is None else batch, folder=folder,
                                   storage=storage, spec=spec, progress=progress, record=recorder,
                                   resumed=resume if storage is not None else resumed)  # a database: shared
        else:
            sets = the_space.grid() if method == "grid" else _draws(the_space, n_trials, seed)
            frame = _list_search(plan, run, sets, folder=folder, progress=progress, record=recorder)
    return OptimizeResult(frame, the_space, objectives, checked, method, target, data,
                          folder.path if folder is not None else None,
                          ledger_trials=book.summary(recorder.family).trials if book is not None else None)


def _trial_count(method: str, trials: int | None, space: Space) -> int:
    if method == "grid":
        if trials is not None:
            msg = f"a grid evaluates all of its {space.grid_size():,} combinations; 'trials' is for the other methods"
            raise OptimizeError(msg)
        return len(space.grid())
    if trials is None or isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        msg = f"{method} search needs trials >= 1 (how many parameter sets to evaluate), got {trials!r}"
        raise OptimizeError(msg)
    return trials


def _metrics(objectives: list[Objective], constraints: list[Constraint], metrics: Sequence[str] | None, *,
             ledger: bool = True) -> list[str] | None:
    if any(o.function is not None for o in objectives):
        return None  # a callable objective sees every metric
    wanted = [o.metric for o in objectives if o.metric] + [c.metric for c in constraints]
    for name in metrics if metrics is not None else DEFAULT_METRICS:
        if name not in METRICS:
            msg = f"unknown metric {name!r} to record; metrics are {', '.join(METRICS)}"
            raise OptimizeError(msg)
        wanted.append(name)
    return list(dict.fromkeys([*wanted, "sharpe_ratio"] if ledger else wanted))  # the ledger records Sharpe


def _strategy_key(target: Target) -> str:
    if isinstance(target, DocumentTarget):
        return f"{target.name}#{fingerprint(target.strategy.model_dump(mode='json'))}"
    if isinstance(target, CodeTarget):
        cls = target.strategy
        return f"{cls.__module__}.{cls.__qualname__}#{fingerprint(dict(target.options))}"
    return target.name


def _draws(space: Space, count: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [space.draw(rng) for _ in range(count)]


@dataclass
class _Recorder:
    """Writes each batch's sets to the trial ledger (the deflated Sharpe ratio's count of trials)."""

    ledger: TrialLedger | None
    family: str
    data: Data
    space: Space
    _key: str = field(init=False)
    _ppy: float = field(init=False)
    _periods: int = field(init=False)

    def __post_init__(self) -> None:
        bars = self.data if isinstance(self.data, Bars) else next(iter(dict(self.data.items()).values()))
        self._key = data_key(self.data)
        self._ppy = periods_per_year(bars.timeframe.nanos, bars.calendar)
        self._periods = max(len(bars) - 1, 0)

    def __call__(self, sets: list[dict[str, Any]], stats: pd.DataFrame) -> None:
        if self.ledger is None:
            return
        sharpe = stats["sharpe_ratio"].to_numpy(dtype=np.float64) / math.sqrt(self._ppy)
        self.ledger.record(self.family, self._key, [self.space.full(s) for s in sets], sharpe, self._periods)


def _evaluate_batch(plan: _Plan, run: Runner, sets: list[dict[str, Any]]) -> pd.DataFrame:
    """Statistics of ``sets``, split into chunks that fit the budget and spread over the runner's workers."""
    full = [plan.space.full(s) for s in sets]
    parts = chunks(len(full), plan.per_set, plan.budget, workers=run.workers)
    frames = list(run.map(_run_chunk, [full[p] for p in parts], plan.target, plan.data, plan.metrics))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _list_search(plan: _Plan, run: Runner, sets: list[dict[str, Any]], *, folder: StudyFolder | None,
                 progress: Progress | None, record: _Recorder) -> pd.DataFrame:
    """Grid or random search: evaluate ``sets`` in budget-sized batches, keeping each batch in the study."""
    kept = folder.trials() if folder is not None else None
    done = set() if kept is None else set(kept.index)
    frames = [] if kept is None else [kept]
    todo = [k for k in range(len(sets)) if k not in done]
    per_batch = max(1, int(plan.budget // max(plan.per_set, 1.0)))  # a batch fits the budget; its chunks share it
    finished = len(done)
    for start in range(0, len(todo), per_batch):
        numbers = todo[start:start + per_batch]
        batch_sets = [sets[k] for k in numbers]
        stats = _evaluate_batch(plan, run, batch_sets)
        scored = plan.score(batch_sets, stats, 0)
        scored.index = pd.Index(numbers, name="trial")
        if folder is not None:
            folder.append(scored)
        record(batch_sets, stats)
        frames.append(scored)
        finished += len(numbers)
        if progress is not None:
            progress(finished, len(sets))
    return pd.concat(frames).sort_index() if frames else plan.score([], pd.DataFrame(), 0)


# --- Optuna ---------------------------------------------------------------------------------------------------

def _sampler(method: str, seed: int, *, constrained: bool) -> Any:
    import optuna  # noqa: PLC0415  # imported for Optuna's samplers only

    constraints = _constraint_values if constrained else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)  # Optuna 5 deprecates constraints_func (still supported)
        if method == "tpe":
            return optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True,
                                              constraints_func=constraints)
        if method == "cmaes":
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        if method == "qmc":
            return optuna.samplers.QMCSampler(seed=seed, warn_independent_sampling=False)
        if method == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)
        return optuna.samplers.NSGAIIISampler(seed=seed, constraints_func=constraints)


def _constraint_values(trial: Any) -> Sequence[float]:
    return list(trial.user_attrs.get("constraint", (0.0,)))


def _storage(folder: StudyFolder | None, storage: str | None) -> Any:
    import optuna  # noqa: PLC0415  # see _sampler

    if storage is not None:
        with warnings.catch_warnings():  # heartbeats and their retry callback are marked experimental (since 2.8)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=3)
            return optuna.storages.RDBStorage(storage, heartbeat_interval=HEARTBEAT_SECONDS,
                                              grace_period=2 * HEARTBEAT_SECONDS,
                                              heartbeat_stale_trial_callback=retry)
    if folder is not None:
        from optuna.storages.journal import JournalFileBackend  # noqa: PLC0415  # see _sampler

        return optuna.storages.JournalStorage(JournalFileBackend(str(folder.journal)))
    return optuna.storages.InMemoryStorage()


def _optuna_search(plan: _Plan, run: Runner, *, method: str, n_trials: int, seed: int, batch: int,
                   folder: StudyFolder | None, storage: str | None, spec: dict[str, Any], resumed: bool,
                   progress: Progress | None, record: _Recorder) -> pd.DataFrame:
    """Ask ``batch`` sets, evaluate them as one batch, tell the results; until ``n_trials`` are evaluated."""
    import optuna  # noqa: PLC0415  # see _sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    the_storage = _storage(folder, storage)
    name = f"backgrid-{fingerprint(spec)}"
    if storage is not None and not resumed and name in optuna.get_all_study_names(the_storage):
        optuna.delete_study(study_name=name, storage=the_storage)  # resume=False starts afresh
    study = optuna.create_study(
        storage=the_storage, sampler=_sampler(method, seed, constrained=bool(plan.constraints)),
        study_name=name, load_if_exists=True,
        directions=[o.direction for o in plan.objectives])
    if resumed and storage is None and folder is not None:
        _retry_stale(study)
    heartbeat = storage is not None
    try:
        with warnings.catch_warnings():  # ask and tell keep heartbeats here (_Heartbeat), not Study.optimize
            warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed", category=UserWarning)
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # fail_stale_trials (since 2.9)
            while (done := _evaluated(study)) < n_trials:
                if heartbeat:
                    optuna.storages.fail_stale_trials(study)
                asked = _ask(study, plan.space, min(batch, n_trials - done))
                beating = _Heartbeat(study, [t for t, _ in asked]) if heartbeat else None
                try:
                    sets = [values for _, values in asked]
                    stats = _evaluate_batch(plan, run, sets)
                finally:
                    if beating is not None:
                        beating.stop()
                scored = plan.score(sets, stats, 0)
                for (trial, _), (_, row) in zip(asked, scored.iterrows(), strict=True):
                    _tell(study, trial, plan, row, stats)
                record(sets, stats)
                if progress is not None:
                    progress(min(_evaluated(study), n_trials), n_trials)
            return _optuna_trials(study, plan)
    finally:
        if heartbeat:
            the_storage.engine.dispose()


def _ask(study: Any, space: Space, count: int) -> list[tuple[Any, dict[str, Any]]]:
    """``count`` trials whose sets meet the space's conditions (the others are pruned unrun)."""
    import optuna  # noqa: PLC0415  # see _sampler

    asked: list[tuple[Any, dict[str, Any]]] = []
    refused = 0
    while len(asked) < count:
        trial = study.ask()
        values = space.suggest(trial)
        if space.admits(values):
            asked.append((trial, values))
            continue
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        refused += 1
        if refused > 100 * count:
            msg = (f"the sampler suggested {refused} sets that break the conditions "
                   f"{[c.text for c in space.conditions]}; widen the ranges")
            raise OptimizeError(msg)
    return asked


def _tell(study: Any, trial: Any, plan: _Plan, row: pd.Series, stats: pd.DataFrame) -> None:
    import optuna  # noqa: PLC0415  # see _sampler

    columns = value_columns(len(plan.objectives))
    values = [float(row[c]) for c in columns]
    kept = {name: _plain(row[name]) for name in stats.columns}
    trial.set_user_attr("stats", {k: (None if isinstance(v, float) and math.isnan(v) else v)
                                  for k, v in kept.items()})
    if plan.constraints:
        one = row.to_frame().T.infer_objects()
        trial.set_user_attr("constraint", [float(c.violation(one)[0]) for c in plan.constraints])
    if all(math.isfinite(v) for v in values):
        study.tell(trial, values if len(values) > 1 else values[0])
    else:  # an undefined objective (no trade): evaluated, but nothing a sampler can learn from
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _evaluated(study: Any) -> int:
    import optuna  # noqa: PLC0415  # see _sampler

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL)
    return sum("stats" in t.user_attrs for t in study.get_trials(deepcopy=False, states=states))


def _retry_stale(study: Any) -> None:
    """A journal has no heartbeat: trials left running by a stopped run are failed and asked again."""
    import optuna  # noqa: PLC0415  # see _sampler

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)  # noqa: SLF001  # Optuna's public API has no "fail this trial" for a foreign trial
        if trial.params:
            study.enqueue_trial(trial.params, skip_if_exists=False)


class _Heartbeat:
    """Records a heartbeat for running trials while their batch is evaluated (a database storage)."""

    def __init__(self, study: Any, trials: list[Any]) -> None:
        self._storage = study._storage  # noqa: SLF001  # Optuna records heartbeats through the storage
        self._ids = [t._trial_id for t in trials]  # noqa: SLF001  # the storage keys heartbeats by trial id
        self._stop = threading.Event()
        self._beat()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        for trial_id in self._ids:
            self._storage.record_heartbeat(trial_id)

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS / 2):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _optuna_trials(study: Any, plan: _Plan) -> pd.DataFrame:
    """The trials table from Optuna's storage: every evaluated trial, numbered in the order they were asked."""
    evaluated = [t for t in study.get_trials(deepcopy=False) if "stats" in t.user_attrs]
    evaluated.sort(key=lambda t: t.number)
    sets = [{name: t.params[name] for name in plan.space.names} for t in evaluated]
    stats = pd.DataFrame([{k: (np.nan if v is None else v) for k, v in t.user_attrs["stats"].items()}
                          for t in evaluated], columns=plan.metrics or list(METRICS))
    return plan.score(sets, stats.infer_objects(), 0)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
