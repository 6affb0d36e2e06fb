"""Numba kernels of the robustness package (NumPy and Numba only; names end in ``_nb``)."""
