"""Example third-party indicators for backgrid."""
