"""Creating the folder a file is about to be written in, failing with one line.

The loader creates the warehouse's folder before it opens the warehouse, and a publish
creates the serving folder before it writes the stage file; both report a folder they
cannot create as one line of their own error type, never as a traceback.
"""

from __future__ import annotations

from pathlib import Path


def create_parent_folder(path: Path, error: type[Exception], folder_name: str) -> None:
    """Create ``path``'s folder and its parents, if missing; when that fails, raise
    ``error("cannot create the <folder_name>: <reason>")``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"cannot create the {folder_name}: {exc.strerror or exc}") from None
