"""`agora kb ...`: the knowledge base of resolved cases, searched offline against the store."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.options import StoreOption
from data.store import Store
from features.embeddings import default_cache_dir
from models.knowledge import (
    DEFAULT_K,
    DEFAULT_MIN_SIMILARITY,
    MAX_K,
    Encoder,
    KnowledgeBase,
    knowledge_encoder,
)

app = typer.Typer(
    help="Search the knowledge base of resolved cases (what POST /resolutions recorded).",
    no_args_is_help=True,
)


def search_encoder() -> Encoder:
    """The service's knowledge-base encoder (all-MiniLM-L6-v2, int8 ONNX), exported once into
    the embeddings cache folder (AGORA_EMBEDDING_CACHE) on first use."""
    return knowledge_encoder(default_cache_dir())


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="A message to find resolved cases like.")],
    k: Annotated[int, typer.Option("--k", min=1, max=MAX_K, help="Cases to show.")] = DEFAULT_K,
    min_similarity: Annotated[
        float,
        typer.Option(min=-1.0, max=1.0, help="Show only cases at least this similar (cosine)."),
    ] = DEFAULT_MIN_SIMILARITY,
    reason: Annotated[
        str | None,
        typer.Option(help="The message's reason, as triage gives it: that reason's cases first."),
    ] = None,
    store_url: StoreOption = None,
) -> None:
    """Print the resolved cases most like TEXT, as /triage's similar_cases would list them."""
    store = Store(store_url)
    base = KnowledgeBase(search_encoder())
    base.add(store.resolutions.all_cases())
    if len(base) == 0:
        typer.echo("the knowledge base is empty: no case has been resolved yet")
        return
    found = base.similar([text], k=k, min_similarity=min_similarity, reasons=[reason])[0]
    typer.echo(f"{len(found)} of {len(base)} resolved cases at similarity >= {min_similarity}")
    for rank, case in enumerate(found, start=1):
        labels = f"reason={case.reason} category={case.category} queue={case.queue}"
        typer.echo(f"{rank}. {case.similarity:.3f}  {case.outcome}  {labels}")
        typer.echo(f"   triage_id: {case.triage_id}")
        typer.echo(f"   message:    {case.excerpt}")
        typer.echo(f"   resolution: {case.resolution}")
