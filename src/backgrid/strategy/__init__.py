"""Strategies as data: the versioned document, its compiler, the plain-English summary, code strategies."""

from __future__ import annotations

from backgrid.strategy.compiler import Compiled, compile_strategy, parameter_sets, run
from backgrid.strategy.document import dump, load, parse
from backgrid.strategy.spec import SCHEMA_VERSION, Strategy, json_schema

__all__ = ["SCHEMA_VERSION", "Compiled", "Strategy", "compile_strategy", "dump", "json_schema", "load",
           "parameter_sets", "parse", "run"]
