"""Numba kernels of the engine (NumPy and Numba only; names end in ``_nb``)."""
