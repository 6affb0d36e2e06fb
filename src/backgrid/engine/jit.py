"""Whether the engine's kernels are compiled yet: a first run compiles them (about 10 s), later runs load them.

The CLI says "compiling (first run only)" from this instead of reaching into the kernels itself.
"""

from __future__ import annotations

from backgrid.engine.kernels import simulate_nb

__all__ = ["kernel_compiled"]


def kernel_compiled(*, columns: int) -> bool:
    """Whether the kernel for ``columns`` parameter sets of one symbol is compiled or in numba's cache.

    Timing-free: looks at the kernel's compiled signatures (this process) and at numba's on-disk cache
    index (earlier processes; numba checks the index against the kernel's source stamp). The kernel is
    the one :func:`~backgrid.engine.run.backtest` picks for one symbol (the parallel one for more than one
    column). ``_cache`` and what is under it are numba's, not public API: anything unexpected reads as
    "not compiled", which errs towards announcing a compile.
    """
    kernel = simulate_nb.simulate_parallel_nb if columns > 1 else simulate_nb.simulate_nb
    try:
        return bool(kernel.signatures or kernel._cache._cache_file._load_index())  # type: ignore[attr-defined]  # noqa: SLF001
    except (AttributeError, OSError):
        return False
