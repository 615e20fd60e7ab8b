"""Errors every model family raises the same way, so callers catch one class per meaning."""

from __future__ import annotations


class NotFittedError(RuntimeError):
    """A model was used (predict, recommend, save, explain) before `fit` or `load`."""


class ModelFormatError(ValueError):
    """A saved model folder is missing, incomplete, of another family or type, or of an
    unsupported format version; the message names the folder and what is wrong."""


class CatalogTooLargeError(ValueError):
    """A model refuses a catalog above its configured size (its memory would not fit); the
    message names the size, the limit and what to use instead."""


class NoItemTextError(ValueError):
    """A content model was given items with no text to read (no items frame, or none of its
    items has a title, genres or text); the message says what to give it instead."""
