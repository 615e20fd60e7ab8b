"""`agora store ...`: an operator's work on the store itself: erasing one customer's data on
request (`erase-user`).

It writes an audit row (`data.store.erasure`) naming the operator: `--requested-by`, else
`cli:` and the operating-system user running the command.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from cli.exit_codes import bad_input, step_failed
from cli.options import StoreOption
from data.store import Store, StoreError, is_store_outage

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
    store = open_store(store_url)
    try:
        counts = store.erasures.erase_user(user_id, operator(requested_by))
    except StoreError as error:
        raise bad_input(error) from None
    except Exception as error:
        if is_store_outage(error):
            first = str(error).strip().splitlines()[0]
            raise step_failed(f"the store is unavailable, nothing was erased: {first}") from None
        raise
    finally:
        store.engine.dispose()
    typer.echo(f"erased user {user_id!r}: {counts_sentence(counts)}")
