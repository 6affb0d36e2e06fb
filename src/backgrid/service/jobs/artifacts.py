"""The files of an attempt: its own fresh folder ``<artifacts>/<run_id>/attempt-<n>/``, and their descriptions.

Each attempt writes into its own folder, so a run that is claimed again (its worker died or stalled) never
mixes the files of two attempts; the completion that wins the fence publishes its folder's files as the
run's artifacts, and the other folders are never pointed at.
"""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
from collections.abc import Iterable
from pathlib import Path

from backgrid.service.jobs.lease import ArtifactFile, Claim

__all__ = ["attempt_folder", "describe"]

#: media types of what the kinds write that ``mimetypes`` does not know everywhere
_MEDIA_TYPES = {".npz": "application/octet-stream", ".parquet": "application/vnd.apache.parquet",
                ".csv": "text/csv", ".json": "application/json", ".yaml": "application/yaml",
                ".html": "text/html", ".txt": "text/plain"}


def attempt_folder(root: Path, claim: Claim) -> Path:
    """The attempt's folder under the artifact ``root``, created empty."""
    folder = root / claim.run_id / f"attempt-{claim.attempt}"
    if folder.exists():  # only an attempt number reused by hand (a restored backup) gets here
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def describe(files: Iterable[Path], root: Path) -> list[ArtifactFile]:
    """The artifact rows of ``files`` (each under ``root``): name, media type, size, sha256, relative path."""
    described = []
    for path in files:
        with path.open("rb") as handle:
            digest = hashlib.file_digest(handle, "sha256").hexdigest()
        media = _MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        described.append(ArtifactFile(name=path.name, media_type=media or "application/octet-stream",
                                      size=path.stat().st_size, sha256=digest,
                                      path=path.relative_to(root).as_posix()))
    return described
