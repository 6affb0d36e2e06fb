"""Kernel of the synthetic demo market (:mod:`backgrid.data.demo`).

Conventions: every random number is drawn by the caller, up front, and passed in;
the kernel only runs the recursions (regime drift, GARCH variance, jumps, gaps)
and builds the bars. Per-bar inputs are 1-D arrays of length ``n``:
``z_common``/``z_own`` standard normals, ``chi`` Gamma(df/2) draws (the Student-t
mixing variable), ``noise`` standard normals for volume, ``slot`` (int) rows into
the seasonal tables and ``regime`` (int, 0 range, 1 up, 2 down); ``wick`` is
``(n, 2)`` standard exponentials. ``gap_at``/``jump_at`` are sorted bar indices
with one value each in ``gap_z``/``jump_size``. ``drift`` and ``regime_vol`` hold
one value per regime, in per-bar units. Prices are logs inside the kernel and
rounded to ``1 / price_scale`` on output; volume to ``1 / volume_scale``.
Outputs are preallocated float64 arrays of length ``n``; ``out_var`` and
``out_jump`` may both be empty, and then the hidden states (the variance
multiplier in force on each bar, the jump inside it) are not stored.
"""

from __future__ import annotations

import numpy as np
from numba import njit

RANGE = 0
UP = 1
DOWN = 2

#: A bar never takes back more than this share of a large move of the bar before.
REVERSAL_SHARE = 0.45
#: Weight of the newest squared move in the running variance that judges "large" (a 100-bar EWMA).
MOVE_WEIGHT = 2.0 / 101.0


@njit(cache=True, nogil=True, inline="always")
def _round(x, scale):
    return np.floor(x * scale + 0.5) / scale


@njit(cache=True, nogil=True, inline="always")
def _reverses(move, prev_move, prev_limit):
    return abs(prev_move) > prev_limit and move * prev_move < 0.0 and abs(move) > REVERSAL_SHARE * abs(prev_move)


@njit(cache=True, nogil=True)
def simulate_nb(
    z_common, z_own, chi, wick, noise, slot, regime, gap_at, gap_z, jump_at, jump_size,
    vol_table, volume_table, drift, regime_vol,
    log_p0, loading, t_scale, sigma, kappa, alpha, beta, gap_sigma, jump_boost, wick_k, reversal_k,
    jump_volume, base_volume, price_scale, volume_scale,
    out_open, out_high, out_low, out_close, out_volume, out_var, out_jump,
):
    """Simulate ``n`` one-minute bars into the ``out_*`` arrays.

    Per bar: innovation ``eps = (loading * z_common + sqrt(1 - loading²) * z_own) *
    sqrt(t_scale / chi)`` (unit-variance Student-t); bar volatility
    ``sd = sigma * vol_table[slot] * regime_vol[regime] * sqrt(v)``; log return
    ``drift[regime] - kappa * (previous log close - anchor) [range only] + sd * eps + jump``;
    variance ``v <- (1 - alpha - beta) + (alpha * eps² + beta) * v``, times
    ``jump_boost`` after a jump. A bar in ``gap_at`` opens away from the previous
    close by ``gap_sigma * regime_vol * sqrt(v) * gap_z``. The range anchor is the
    log price where a range regime starts, moved by jumps inside it. When the
    previous close-to-close move exceeded ``reversal_k`` deviations (the smaller
    of its bar's and a running deviation of recent moves, each squared move
    capped at twice ``reversal_k`` deviations), a bar that would take back more
    than ``REVERSAL_SHARE`` of it has its innovation (then its jump, then its
    gap) mirrored: large moves persist, as real ones do.
    """
    n = z_common.size
    own = np.sqrt(1.0 - loading * loading)
    omega = 1.0 - alpha - beta
    store_states = out_var.size > 0
    tick = 1.0 / price_scale
    lot = 1.0 / volume_scale
    v = 1.0
    logp = log_p0
    anchor = log_p0
    prev_regime = -1
    prev_move = 0.0
    prev_limit = np.inf
    move_var = -1.0  # EWMA of squared close-to-close moves, capped; negative until the first bar
    prev_close = max(_round(np.exp(log_p0), price_scale), tick)
    g = 0
    j = 0
    for i in range(n):
        reg = regime[i]
        if reg == RANGE and prev_regime != RANGE:
            anchor = logp
        prev_regime = reg
        scale = regime_vol[reg] * np.sqrt(v)
        gap = 0.0
        opens_session = g < gap_at.size and gap_at[g] == i
        if opens_session:
            gap = gap_sigma * scale * gap_z[g]
            g += 1
        jump = 0.0
        if j < jump_at.size and jump_at[j] == i:
            jump = jump_size[j]
            j += 1
        sd = sigma * vol_table[slot[i]] * scale
        eps = (loading * z_common[i] + own * z_own[i]) * np.sqrt(t_scale / chi[i])
        mu = drift[reg]
        if reg == RANGE:
            mu -= kappa * (logp - anchor)
        move = gap + mu + sd * eps + jump
        if _reverses(move, prev_move, prev_limit):  # mirror the random parts, one at a time, until it does not
            eps = -eps
            move = gap + mu + sd * eps + jump
            if _reverses(move, prev_move, prev_limit):
                jump = -jump
                move = gap + mu + sd * eps + jump
                if _reverses(move, prev_move, prev_limit):
                    gap = -gap
                    move = gap + mu + sd * eps + jump
        log_open = logp + gap
        px_open = max(_round(np.exp(log_open), price_scale), tick) if opens_session else prev_close
        log_close = logp + move
        anchor += jump  # news moves the fair value that a range reverts to
        px_close = max(_round(np.exp(log_close), price_scale), tick)
        hi = _round(np.exp(max(log_open, log_close) + wick_k * sd * wick[i, 0]), price_scale)
        lo = _round(np.exp(min(log_open, log_close) - wick_k * sd * wick[i, 1]), price_scale)
        out_open[i] = px_open
        out_close[i] = px_close
        out_high[i] = max(hi, px_open, px_close)
        out_low[i] = min(max(lo, tick), px_open, px_close)
        q = base_volume * volume_table[slot[i]] * scale * (0.6 + 0.4 * abs(eps)) * np.exp(0.4 * noise[i] - 0.08)
        if jump != 0.0:
            q *= jump_volume
        out_volume[i] = max(_round(q, volume_scale), lot)
        if store_states:
            out_var[i] = v
            out_jump[i] = jump
        v = omega + (alpha * eps * eps + beta) * v
        if jump != 0.0:
            v *= jump_boost
        logp = log_close
        prev_close = px_close
        prev_move = move
        if move_var < 0.0:
            move_var = sd * sd
        prev_limit = reversal_k * np.sqrt(min(sd * sd, move_var))
        move_var += MOVE_WEIGHT * (min(move * move, 4.0 * prev_limit * prev_limit) - move_var)
