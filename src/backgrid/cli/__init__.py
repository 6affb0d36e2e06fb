"""The ``backgrid`` command line: thin commands over the library (heavy imports happen inside commands)."""
