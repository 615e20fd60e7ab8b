"""How every `agora` command ends when something goes wrong: one red `error: ...` line on stderr
and one exit-code convention.

- 2 (`BAD_INPUT`): the input was refused before any work (an unknown dataset, a bad config field,
  an option out of range). Click exits with 2 for its own usage errors (an unknown choice of an
  Enum option), so the two agree.
- 1 (`STEP_FAILED`): the input was fine but a step did not succeed (a download failed, a checksum
  is wrong, the promotion gate refused `agora models promote`, the service did not start).
- 0 for a scheduled `agora retrain` whose candidate the gate refuses, or that finds nothing new to
  learn: the job did what it is for (the champion stands), and says so in a sentence.
"""

from __future__ import annotations

import typer

from data.catalog import UnknownDatasetError
from data.fetch import FetchError
from features.splits import SplitTooSmallError
from models.config import ConfigError
from models.errors import CatalogTooLargeError, NoItemTextError
from training.tracking_store import TrackingStoreError

BAD_INPUT = 2
STEP_FAILED = 1
# Refused input as the pipelines raise it: a bad config field, a dataset that is not in the
# catalog, not imported, or not available to fetch, or a tracking URI that cannot serve.
BAD_INPUT_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    UnknownDatasetError,
    FetchError,
    SplitTooSmallError,
    TrackingStoreError,
    # The data cannot fit the model asked for: a catalog above EASE's max_items, a content
    # model given no item text. Each message names the model to use instead.
    CatalogTooLargeError,
    NoItemTextError,
)


def report_error(message: object) -> None:
    """Print `error: MESSAGE` to stderr (in red on a terminal)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def bad_input(message: object) -> typer.Exit:
    """Report `message`; the exit to raise: `raise bad_input(error) from None`."""
    report_error(message)
    return typer.Exit(BAD_INPUT)


def step_failed(message: object) -> typer.Exit:
    """Report `message`; the exit to raise: `raise step_failed(error) from None`."""
    report_error(message)
    return typer.Exit(STEP_FAILED)
