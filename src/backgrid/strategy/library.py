"""Ready strategies shipped with backgrid: YAML documents under ``strategy/library/``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from backgrid.errors import SpecError
from backgrid.strategy.document import load
from backgrid.strategy.spec import Strategy, did_you_mean

__all__ = ["library_names", "library_path", "load_library"]


def _folder() -> Path:
    return Path(str(resources.files("backgrid.strategy") / "library"))


def library_names() -> list[str]:
    """The names of the ready strategies, sorted."""
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def library_path(name: str) -> Path:
    """The file of ready strategy ``name``; an unknown name lists the closest and all of them."""
    path = _folder() / f"{name}.yaml"
    if not path.is_file():
        names = library_names()
        msg = f"no ready strategy {name!r}{did_you_mean(name, names)} (available: {', '.join(names)})"
        raise SpecError([("", msg)])
    return path


def load_library(name: str) -> Strategy:
    """Ready strategy ``name``, checked."""
    return load(library_path(name))
