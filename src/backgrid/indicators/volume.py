"""Volume indicators (family module: the registry collects the decorated functions here)."""
