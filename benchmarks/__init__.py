"""backgrid benchmarks: ``python -m benchmarks`` runs them all and prints times and ratios to peers."""
