"""`agora kb ...`: the knowledge base of resolved cases, searched offline against the store."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from cli.exit_codes import bad_input
from cli.options import StoreOption
from data.store import Store, StoreError
from features.embeddings import default_cache_dir
from models.knowledge import (
    DEFAULT_K,
    DEFAULT_KB_ENCODER,
    HAN_MIN_SIMILARITY,
    MAX_K,
    MIN_SIMILARITY,
    Encoder,
    KbEncoder,
    LazyEncoder,
    ScriptRoutedKnowledgeBase,
    han_reads,
    knowledge_encoder,
    knowledge_reads,
    parse_kb_encoder,
)
from serving.settings import KB_ENCODER_ENV

app = typer.Typer(
    help="Search the knowledge base of resolved cases (what POST /resolutions recorded).",
    no_args_is_help=True,
)


def search_encoder(kind: KbEncoder) -> Encoder:
    """Knowledge-base encoder `kind`, made once into the embeddings cache folder
    (AGORA_EMBEDDING_CACHE) on first use."""
    return knowledge_encoder(default_cache_dir(), kind)


@app.command("search")
def search(
    text: Annotated[str, typer.Argument(help="A message to find resolved cases like.")],
    k: Annotated[int, typer.Option("--k", min=1, max=MAX_K, help="Cases to show.")] = DEFAULT_K,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            help="Show only cases at least this similar (cosine, -1 to 1). Default: the encoder's "
            f"threshold ({', '.join(f'{k.value} {v}' for k, v in MIN_SIMILARITY.items())}; "
            f"Chinese messages {HAN_MIN_SIMILARITY}).",
        ),
    ] = None,
    encoder: Annotated[
        str | None,
        typer.Option(
            envvar=KB_ENCODER_ENV,
            help="The service's knowledge-base encoder: "
            f"{', '.join(k.value for k in KbEncoder)} (default {DEFAULT_KB_ENCODER.value}).",
        ),
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="The message's reason, as triage gives it: that reason's cases first."),
    ] = None,
    store_url: StoreOption = None,
) -> None:
    """Print the resolved cases most like TEXT, as /triage's similar_cases would list them."""
    if not text.strip():
        raise bad_input("TEXT is blank: give the message to find resolved cases like")
    # Checked here, not by typer's range: "nan" failed that as "should be <= 1".
    if min_similarity is not None and not -1.0 <= min_similarity <= 1.0:
        shown = "nan" if math.isnan(min_similarity) else f"{min_similarity:g}"
        raise bad_input(f"--min-similarity must be a number from -1 to 1, not {shown}")
    try:
        kind = parse_kb_encoder(encoder or DEFAULT_KB_ENCODER, "--encoder")
    except ValueError as error:
        raise bad_input(error) from None
    threshold = MIN_SIMILARITY[kind] if min_similarity is None else min_similarity
    han_threshold = HAN_MIN_SIMILARITY if min_similarity is None else min_similarity
    try:
        store = Store(store_url, must_exist=True)
    except StoreError as error:
        raise bad_input(error) from None
    # Lazy: a store of Chinese cases only never builds the English encoder.
    base = ScriptRoutedKnowledgeBase(LazyEncoder(lambda: search_encoder(kind)), han_threshold)
    base.add(store.resolutions.all_cases())
    if len(base) == 0:
        typer.echo("the knowledge base is empty: no case has been resolved yet")
        return
    if not knowledge_reads(text):
        typer.echo(
            "no similar cases: the knowledge base reads Latin-script and Chinese text; this "
            "message is mostly in another script"
        )
        return
    found = base.similar([text], k=k, min_similarity=threshold, reasons=[reason])[0]
    threshold = han_threshold if han_reads(text) else threshold
    typer.echo(f"{len(found)} of {len(base)} resolved cases at similarity >= {threshold}")
    for rank, case in enumerate(found, start=1):
        labels = f"reason={case.reason} category={case.category} queue={case.queue}"
        typer.echo(f"{rank}. {case.similarity:.3f}  {case.outcome}  {labels}")
        typer.echo(f"   triage_id: {case.triage_id}")
        typer.echo(f"   message:    {case.excerpt}")
        typer.echo(f"   resolution: {case.resolution}")
