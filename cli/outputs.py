"""Refuse an output path a command could not write, before the command's work.

A batch job or a training run writes its files at the end: a folder given as the file, a file
given as a folder, or a place nobody may write to used to surface as a traceback after minutes
of work (after the model was registered, for `--save-config`). The checks here run first and end
the command with one sentence and exit code 2 (`cli.exit_codes`).

Writability is tried, not read from the permission bits: as root every bit says yes, yet /proc
takes no new file. Missing folders are created (the command would create them anyway).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from cli.exit_codes import bad_input
from data.atomic import write_atomic
from data.paths import unwritable_reason

if TYPE_CHECKING:
    import pandas as pd

PARQUET = ".parquet"
_FORMATS = {PARQUET: "Parquet"}


def check_output_file(path: Path, option: str, suffix: str | None = None) -> None:
    """Exit 2 unless `path` can be written as a file: not a folder, its folder a folder that
    exists or can be created and takes new files, and ending in `suffix` when one is given (a
    Parquet file named .csv is no CSV for whoever opens it)."""
    if path.is_dir():
        raise bad_input(f"{option} {path} is a folder: give a file path in it")
    if suffix is not None and path.suffix.lower() != suffix:
        kind = _FORMATS.get(suffix, suffix)
        raise bad_input(f"{option} {path}: the output is {kind}; give a path ending in {suffix}")
    _check_folder(path.parent, option, path)
    if path.exists() and not os.access(path, os.W_OK):
        raise bad_input(f"{option} {path} exists and may not be overwritten")


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write `frame` to `path` whole or not at all (a temporary file renamed over it): written in
    place, an interrupted write (Ctrl-C, a full disk) left a truncated file where the output
    goes, or in place of the last run's complete one."""
    write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_text(text: str, path: Path) -> None:
    """Write `text` to `path` whole or not at all, as `write_parquet`."""
    write_atomic(path, lambda tmp: tmp.write_text(text))


def check_output_folder(path: Path, option: str) -> None:
    """Exit 2 unless `path` is a folder (or can be created as one) that takes new files."""
    if path.exists() and not path.is_dir():
        raise bad_input(f"{option} {path} is a file, not a folder")
    _check_folder(path, option, path)


def _check_folder(folder: Path, option: str, given: Path) -> None:
    for ancestor in (folder, *folder.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise bad_input(f"{option} {given}: {ancestor} is a file, not a folder")
            break
    if (reason := unwritable_reason(folder)) is not None:
        raise bad_input(f"{option} {given}: cannot create a file in {folder} ({reason})")
