"""Market data: the Bars model, loading and validation, resampling, the local store, sources."""
