"""Numba kernels of the metrics (NumPy and Numba only; names end in ``_nb``)."""
