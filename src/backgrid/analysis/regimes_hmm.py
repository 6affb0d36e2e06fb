"""Market regimes from a Gaussian hidden Markov model, causal: fitted on the past, read by filtering.

:func:`hmm_regime` fits ``hmmlearn.hmm.GaussianHMM`` (full covariances) on the bars before ``train`` only, then
labels each later bar ``t`` with the state of highest *filtered* probability ``P(state_t | x_0..x_t)``, run by
the forward recursion of :func:`backgrid.analysis.kernels.regimes_nb.forward_filter_nb` with the fitted
``startprob_``, ``transmat_``, ``means_`` and ``covars_``; that probability is the confidence. The smoothed path
(``predict``, ``predict_proba`` on the whole series) reads later bars, so it is never used: the filtered
probability at ``t`` is what ``predict_proba`` gives for the *last* row of ``x_0..x_t``.

With ``refit_every``, the model is refitted on an expanding window every ``refit_every`` bars after
``train``, and each fit labels only the bars from its own start until the next fit's (filtering from the first
observation with that fit's parameters: it reads no bar after ``t`` either).

Features (one row per bar, the first rows without a value are skipped): ``log_return`` = ``ln(close_t /
close_{t-1})``; ``volatility`` = the sample standard deviation of the last ``window`` log returns. Each fit
standardises them by the mean and standard deviation of its training rows (hmmlearn's covariance floor,
``min_covar`` = 1e-3, would otherwise swamp the variance of returns, ~1e-4 a day). States are ordered by their
mean log return, so that labels do not depend on the seed: ``("bear", "bull")`` for 2 states,
``("bear", "range", "bull")`` for 3, ``("state_1", ..., "state_k")`` from the lowest mean upwards otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backgrid.analysis.kernels import regimes_nb
from backgrid.analysis.regimes import UNKNOWN, Regimes, _hlc, _indicator, _positive_int
from backgrid.data.bars import Bars
from backgrid.errors import AnalysisError

__all__ = ["hmm_regime"]

FEATURES = ("log_return", "volatility")
_NAMES = {2: ("bear", "bull"), 3: ("bear", "range", "bull")}


def _features(bars: Bars, features: tuple[str, ...], window: int) -> np.ndarray:
    close = bars.close
    log_return = np.r_[np.nan, np.log(close[1:] / close[:-1])]
    columns = {"log_return": log_return}
    if "volatility" in features:  # hist_vol in percent at one period a year: the per-bar standard deviation
        columns["volatility"] = _indicator("hist_vol", _hlc(bars), "window", period=window,
                                           periods_per_year=1.0) / 100.0
    return np.column_stack([columns[f] for f in features])


def _log_density(x: np.ndarray, means: np.ndarray, covars: np.ndarray) -> np.ndarray:
    """``log N(x_t; means_k, covars_k)`` for every row ``t`` and state ``k`` (rows x states)."""
    d = x.shape[1]
    out = np.empty((x.shape[0], means.shape[0]))
    for k in range(means.shape[0]):
        chol = np.linalg.cholesky(covars[k])
        z = np.linalg.solve(chol, (x - means[k]).T)
        out[:, k] = -0.5 * (d * math.log(2 * math.pi) + (z * z).sum(axis=0)) - np.log(np.diag(chol)).sum()
    return out


def _fitter() -> tuple[Any, Any]:
    """hmmlearn's ``GaussianHMM`` and threadpoolctl's ``threadpool_limits`` (scikit-learn's, so hmmlearn's, too)."""
    try:
        from hmmlearn.hmm import GaussianHMM  # noqa: PLC0415  # an optional extra
        from threadpoolctl import threadpool_limits  # noqa: PLC0415
    except ImportError:
        msg = 'hmm_regime needs hmmlearn: pip install "backgrid[analysis]"'
        raise ImportError(msg) from None
    return GaussianHMM, threadpool_limits


def hmm_regime(bars: Bars, *, states: int = 2, train: int = 500, refit_every: int | None = None, seed: int = 0,
               features: tuple[str, ...] = ("log_return",), window: int = 20, iterations: int = 100) -> Regimes:
    """Label each bar after the first ``train`` by a Gaussian HMM's filtered state (see the module docstring).

    ``train`` is a number of bars, not a share of them: a share would move the training end as bars are
    appended, and change past labels. Bars before ``train`` are unknown, and so is every bar of a series of
    ``train`` bars or fewer. ``info["fits"]`` describes each fit: ``start`` (first bar it labels), ``rows``
    (observations it was trained on), ``iterations``, ``converged`` (EM's gain fell below hmmlearn's ``tol``
    before ``iterations`` ran out), ``log_likelihood``, ``center`` and ``scale`` (the standardisation),
    ``order`` (hmmlearn's state of each name) and ``model`` (the fitted ``GaussianHMM``).

    >>> from backgrid.testing import random_bars
    >>> hmm_regime(random_bars(800), train=400).names
    ('bear', 'bull')
    """
    _hlc(bars)
    states = _positive_int("states", states, 2)
    train = _positive_int("train", train, 2)
    iterations = _positive_int("iterations", iterations)
    if refit_every is not None:
        refit_every = _positive_int("refit_every", refit_every)
    if not features or "log_return" not in features or set(features) - set(FEATURES) or \
            len(set(features)) < len(features):
        msg = f"features must name log_return and may add volatility, each once, got {features!r}"
        raise AnalysisError(msg)
    model_class, threadpool_limits = _fitter()
    n = len(bars)
    x = _features(bars, tuple(features), window)
    valid = np.isfinite(x).all(axis=1)
    first = int(np.argmax(valid)) if valid.any() else n
    if not valid[first:].all():
        msg = "features must be finite after their warm-up: the closes must be positive"
        raise AnalysisError(msg)
    names = _NAMES.get(states, tuple(f"state_{k + 1}" for k in range(states)))
    probabilities = np.full((n, states), np.nan)
    starts = list(range(train, n, refit_every or n)) if n > train else []
    fits = []
    for s, start in enumerate(starts):
        end = starts[s + 1] if s + 1 < len(starts) else n
        rows = x[first:start]
        if rows.shape[0] < 2 * states:
            msg = f"train={train}: {rows.shape[0]} observations before bar {start} are too few for {states} states"
            raise AnalysisError(msg)
        center, scale = rows.mean(axis=0), rows.std(axis=0)
        if not (scale > 0).all():
            msg = f"features are constant over the {rows.shape[0]} training rows before bar {start}"
            raise AnalysisError(msg)
        model = model_class(n_components=states, covariance_type="full", n_iter=iterations, random_state=seed)
        # one or two features and a few states: BLAS and OpenMP threads (the triangular solves, k-means' start)
        # cost more than they save (a 3-state refit test: 6.7 s with them, 0.5 s without, on 2 busy cores)
        with threadpool_limits(limits=1):
            model.fit((rows - center) / scale)
        order = np.argsort(model.means_[:, 0], kind="stable")
        log_b = _log_density((x[first:end] - center) / scale, model.means_, model.covars_)
        filtered = regimes_nb.forward_filter_nb(log_b, model.startprob_, model.transmat_, start - first,
                                                np.full((end - first, states), np.nan))
        probabilities[start:end] = filtered[start - first:, order]
        history = list(model.monitor_.history)
        fits.append({"start": start, "rows": rows.shape[0], "iterations": model.monitor_.iter,
                     "converged": len(history) >= 2 and history[-1] - history[-2] < model.monitor_.tol,
                     "log_likelihood": history[-1], "center": center, "scale": scale, "order": order,
                     "model": model})
    known = ~np.isnan(probabilities[:, 0])
    codes = np.full(n, UNKNOWN, dtype=np.int8)
    confidence = np.full(n, np.nan)
    codes[known] = np.argmax(probabilities[known], axis=1)
    confidence[known] = probabilities[known].max(axis=1)
    return Regimes("hmm", names, codes, confidence, bars.index,
                   params={"states": states, "train": train, "refit_every": refit_every, "seed": seed,
                           "features": tuple(features), "window": window, "iterations": iterations},
                   info={"fits": fits, "probabilities": probabilities})
