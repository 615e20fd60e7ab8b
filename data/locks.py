"""Cross-process exclusive locks on a file (`flock`), for work that one process must do at a time.

Light on purpose (standard library only): model code that builds a shared artefact takes the
lock without importing the store.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

LOCK_FILE_MODE: Final = 0o600
LOCK_FOLDER_MODE: Final = 0o700


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created owner-only) until the block ends.

    The lock file stays after the block: removing it would let a process that is waiting on the
    removed file and one that creates a new file both believe they hold the lock.
    """
    path.parent.mkdir(mode=LOCK_FOLDER_MODE, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, LOCK_FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock
