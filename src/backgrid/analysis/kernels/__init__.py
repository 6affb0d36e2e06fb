"""Numba kernels of the analysis package (NumPy and Numba only; names end in ``_nb``)."""
