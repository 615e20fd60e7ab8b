"""`agora store ...`: an operator's work on the store itself: erasing one customer's data on
request (`erase-user`) and deleting data past its retention period (`prune`).

Both write an audit row (`data.store.erasure`) naming the operator: `--requested-by`, else
`cli:` and the operating-system user running the command.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from cli.exit_codes import bad_input, step_failed
from cli.options import StoreOption
from data.store import Store, StoreError, is_store_outage
from data.store.erasure import check_requester
from data.store.retention import RetentionCutoffs, count_prunable, prune

app = typer.Typer(
    help="The store: erase a customer's data, prune data past its retention period.",
    no_args_is_help=True,
)

RequesterOption = Annotated[
    str | None,
    typer.Option(
        "--requested-by",
        help="Who asked, for the audit row (default: cli: and your operating-system user).",
    ),
]


def operator(requested_by: str | None) -> str:
    """The requester the audit row names."""
    if requested_by is not None:
        return requested_by
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli:unknown"


def open_store(store_url: str | None) -> Store:
    """The existing store at `store_url` (a mistyped URL is refused, not created empty)."""
    try:
        return Store(store_url, must_exist=True)
    except StoreError as error:
        raise bad_input(error) from None


@contextmanager
def opened_store(store_url: str | None, if_down: str) -> Iterator[Store]:
    """The store at `store_url` for one command, closed after it; a store outage meanwhile ends
    the command with `if_down` and the error's first line (exit code of a failed step)."""
    store = open_store(store_url)
    try:
        yield store
    except Exception as error:
        if is_store_outage(error):
            first = str(error).strip().splitlines()[0]
            raise step_failed(f"the store is unavailable{if_down}: {first}") from None
        raise
    finally:
        store.engine.dispose()


def counts_sentence(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())


@app.command("erase-user")
def erase_user(
    user_id: Annotated[str, typer.Argument(help="The customer's id, exactly as the store has it.")],
    store_url: StoreOption = None,
    requested_by: RequesterOption = None,
) -> None:
    """Erase USER_ID's events, triage records (with their corrections and resolutions) and
    segment in one transaction; a user the store never held is erased with zeros."""
    with opened_store(store_url, ", nothing was erased") as store:
        try:
            counts = store.erasures.erase_user(user_id, operator(requested_by))
        except StoreError as error:
            raise bad_input(error) from None
    typer.echo(f"erased user {user_id!r}: {counts_sentence(counts)}")


def _day(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch)) if epoch is not None else ""


@app.command("prune")
def prune_command(
    messages_older_than: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Delete triage records (with their corrections and resolutions) whose message "
            "was written more than DAYS ago (occurred_at, else when it arrived).",
            metavar="DAYS",
        ),
    ] = None,
    events_older_than: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Delete interaction events older than DAYS (their timestamp).",
            metavar="DAYS",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; delete nothing.")
    ] = False,
    store_url: StoreOption = None,
    requested_by: RequesterOption = None,
) -> None:
    """Delete data past its retention period, PRUNE_BATCH rows per transaction (the service
    keeps writing meanwhile), and audit the run."""
    try:
        cutoffs = RetentionCutoffs.older_than(messages_older_than, events_older_than)
        requester = check_requester(operator(requested_by))
    except (ValueError, StoreError) as error:
        raise bad_input(error) from None
    with opened_store(store_url, "; the run stopped") as store:
        if dry_run:
            counts = count_prunable(store.engine, cutoffs)
        else:
            counts = prune(store.engine, cutoffs, requester)
    before = [
        f"{what} before {_day(at)}"
        for what, at in (("messages", cutoffs.messages_before), ("events", cutoffs.events_before))
        if at is not None
    ]
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} ({', '.join(before)}): {counts_sentence(counts)}")
