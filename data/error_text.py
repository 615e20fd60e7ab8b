"""An exception as one line for a sentence to the user: its message's first line, or its type's
name when it has none (library errors often carry a traceback-like multi-line message)."""

from __future__ import annotations


def first_line(error: BaseException) -> str:
    """The first line of `error`'s message, else the name of its type."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
