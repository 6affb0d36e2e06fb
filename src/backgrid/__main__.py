"""``python -m backgrid`` runs the CLI."""

from backgrid.cli.main import run

run()
