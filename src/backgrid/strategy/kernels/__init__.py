"""Compiled kernels of the strategy compiler (numpy and numba only)."""
