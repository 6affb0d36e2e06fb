"""Numba kernels of the report (NumPy arrays and scalars only): LTTB downsampling."""
