"""SQLite specifics of the store: durability settings, owner-only files, the migration lock.

The store file holds users' events and redacted texts: it is created readable by its owner
only, in a folder only its owner can enter. SQLite creates the -wal and -shm files beside it
with the database file's permissions, so creating the database file right is enough.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

FILE_MODE: Final = 0o600
FOLDER_MODE: Final = 0o700


def sqlite_durability(dbapi_connection: Any, _record: Any) -> None:
    """Connection settings for every connection to the store (a `connect` event listener)."""
    cursor = dbapi_connection.cursor()
    # First, so that the statements below wait for a concurrent starter instead of failing.
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers run beside the writer; synchronous=FULL makes each commit durable
    # across power loss, which is what "acknowledged only after the write is durable" needs.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_private_file(path: Path) -> None:
    """Create `path` empty and owner-only (and its folder owner-only) unless it exists.

    An empty file is a valid SQLite database. Creating it here, rather than letting SQLite do
    it under the process umask, needs no umask change (umask is process-wide, and a server's
    other threads create files too).
    """
    # Only the innermost folder gets FOLDER_MODE: parents may be shared (a home directory).
    path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(descriptor)
