"""Numba kernels of the data layer (NumPy and Numba only; names end in ``_nb``)."""
