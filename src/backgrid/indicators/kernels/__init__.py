"""Numba kernels of the indicator library (NumPy and Numba only; names end in ``_nb``)."""
