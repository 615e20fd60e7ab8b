"""`agora data ...`: list, fetch, verify and import datasets, and generate synthetic ones."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from cli.exit_codes import BAD_INPUT, STEP_FAILED, bad_input, report_error
from cli.options import EncodingOption
from data.catalog import CATALOG, UnknownDatasetError, get_spec
from data.event_import import EventMapError, parse_event_map
from data.fetch import FetchError, dataset_dir, fetch, is_cached, verify_folder
from data.imported import (
    DataImportError,
    ImportReport,
    import_file,
    imported_frame_path,
    list_imported,
    parse_mapping,
    record_frame,
)
from data.label_maps import LabelMapError, parse_label_map
from data.labelled_import import LabelledTextOptions
from data.paths import data_dir, mirror_dir
from data.schemas import Kind
from data.synthetic import SyntheticConfig, generate
from features.text_splits import Task

app = typer.Typer(help="Dataset catalog: list, fetch, verify, import your own, synthesize.")

MirrorOption = Annotated[
    Path | None,
    typer.Option("--mirror", help="Folder holding a dataset mirror (default: $AGORA_DATA_MIRROR)."),
]


@app.command("list")
def list_datasets() -> None:
    """Print the catalog, each dataset's license, and what is present locally."""
    typer.echo(f"cache: {data_dir()}    mirror: {mirror_dir() or '(none)'}")
    typer.echo(f"{'name':<20}{'local':<8}{'kinds':<28}license")
    for spec in CATALOG.values():
        local = "yes" if is_cached(spec) else "no"
        kinds = ",".join(spec.kinds)
        typer.echo(f"{spec.name:<20}{local:<8}{kinds:<28}{spec.license}")
    imported = list_imported()
    if imported:
        typer.echo("\nimported:")
        for name, manifest in imported.items():
            typer.echo(f"{name:<20}{'yes':<8}{','.join(manifest['kinds']):<28}(your data)")


@app.command("fetch")
def fetch_dataset(
    names: Annotated[
        list[str] | None, typer.Argument(help="Dataset names; none means all.")
    ] = None,
    mirror: MirrorOption = None,
    force: Annotated[bool, typer.Option(help="Fetch again even when cached.")] = False,
) -> None:
    """Copy datasets into the cache from a mirror, or download them; verify every sha256.

    Every name is tried; the exit code is 2 if a name is unknown, else 1 if a fetch failed.
    """
    exit_code = 0
    for name in names or list(CATALOG):
        try:
            folder = fetch(name, mirror=mirror, force=force)
        except UnknownDatasetError as error:
            report_error(error)
            exit_code = BAD_INPUT
            continue
        except FetchError as error:
            report_error(error)
            exit_code = max(exit_code, STEP_FAILED)
            continue
        typer.echo(f"{name}: verified in {folder}")
    if exit_code:
        raise typer.Exit(exit_code)


@app.command("verify")
def verify(names: Annotated[list[str] | None, typer.Argument()] = None) -> None:
    """Re-check the sha256 of every cached file."""
    bad = 0
    for name in names or list(CATALOG):
        try:
            spec = get_spec(name)
        except UnknownDatasetError as error:
            raise bad_input(error) from None
        folder = dataset_dir(name)
        if not folder.is_dir():
            typer.echo(f"{name}: not cached")
            continue
        for status in verify_folder(spec, folder):
            if not status.ok:
                bad += 1
                what = "missing" if not status.present else f"sha256 {status.actual_sha256}"
                typer.secho(f"{name}/{status.path}: {what} (bad)", err=True, fg=typer.colors.RED)
        typer.echo(f"{name}: {'ok' if bad == 0 else 'FAILED'}")
    if bad:
        raise typer.Exit(STEP_FAILED)


@app.command("import")
def import_dataset(
    path: Annotated[Path, typer.Argument(help="CSV, TSV or Parquet file.")],
    kind: Annotated[Kind, typer.Option(help="What the file holds.")],
    mapping: Annotated[
        str | None,
        typer.Option(
            "--map", help="canonical=source column pairs, e.g. user_id=userId,item_id=movieId"
        ),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Dataset name (default: the file's stem).")
    ] = None,
    task: Annotated[
        Task | None,
        typer.Option(
            help="labelled-text: what the labels are. sentiment (default): the label column, "
            "values negative/neutral/positive (map others with --label-map). reason, category: "
            "read from a column of that name, else the label column; written to both when "
            "the file has only one.",
        ),
    ] = None,
    label_map: Annotated[
        str | None,
        typer.Option(
            "--label-map",
            help="labelled-text: value=label pairs for the task's labels, e.g. "
            "0=negative,1=positive; rows with a value not in the map are rejected and counted.",
        ),
    ] = None,
    language: Annotated[
        str | None,
        typer.Option(
            help="labelled-text: ISO 639-1 code of every row (e.g. en, zh). Default: the file's "
            "language column, else detected per row (undetected rows keep no language).",
        ),
    ] = None,
    encoding: EncodingOption = None,
    event_map: Annotated[
        str | None,
        typer.Option(
            "--event-map",
            help="interactions with an event-type column (--map type=COLUMN): NAME=TYPE pairs "
            "reading the file's type names as Agora's (view, click, like, share, purchase, "
            "rating, dislike, complaint) or ignore, e.g. hide=dislike,report=complaint,"
            "impression=ignore. Agora's own names need no entry; any other name refuses the "
            "import.",
        ),
    ] = None,
) -> None:
    """Import your own data as a named dataset usable by every later command."""
    dataset = name or path.stem.lower().replace(" ", "-")
    labelled = None
    if kind is Kind.LABELLED_TEXT or task or label_map or language:
        try:
            labelled = LabelledTextOptions(
                task=(task or Task.SENTIMENT).value,
                label_map=parse_label_map(label_map),
                language=language,
                detect=_detect_languages,
            )
        except LabelMapError as error:
            raise bad_input(error) from None
    try:
        events = parse_event_map(event_map)
    except EventMapError as error:
        raise bad_input(error) from None
    try:
        report = import_file(
            path,
            kind,
            parse_mapping(mapping),
            dataset,
            labelled,
            encoding=encoding,
            event_map=events,
        )
    except DataImportError as error:
        raise bad_input(error) from None
    _echo_report(report)


def _echo_report(report: ImportReport) -> None:
    typer.echo(
        f"{report.name} ({report.kind}): read {report.rows_read} rows, kept {report.rows_kept}, "
        f"rejected {report.rows_rejected}"
    )
    for reason, count in report.rejected.most_common():
        typer.echo(f"  rejected {count}: {reason}")
    for note in report.notes:
        typer.echo(f"  note: {note}")
    summary = report.labelled
    if summary is None:
        return
    labels = ", ".join(f"{label} {n}" for label, n in summary.labels.items())
    typer.echo(f"  {summary.task} labels: {labels}")
    for entry in summary.unused_label_map:
        typer.echo(f"  --label-map entry '{entry}' matched no row")
    languages = ", ".join(f"{code or 'undetermined'} {n}" for code, n in summary.languages.items())
    typer.echo(f"  language ({summary.language_source}): {languages or 'none'}")
    if summary.unmapped_labels:
        _warn_unmapped(summary.unmapped_labels)


def _warn_unmapped(unmapped: dict[str, int]) -> None:
    """A label value the map leaves out loses every row of it: said on stderr, apart from the
    report, since a value left out by mistake looks like any other rejection there. The import
    still succeeds (leaving a value out is how a class is dropped); one that keeps fewer than
    two sentiment classes was refused before this."""
    shown = sorted(unmapped.items(), key=lambda item: -item[1])[:_SHOWN_UNMAPPED]
    values = ", ".join(f"'{value}' ({rows} rows)" for value, rows in shown)
    more = len(unmapped) - len(shown)
    values += f" and {more} more" if more > 0 else ""
    typer.secho(
        f"warning: {sum(unmapped.values())} rows were rejected because their label is not in "
        f"--label-map: {values}; add those values to the map to keep them",
        err=True,
        fg=typer.colors.YELLOW,
    )


_SHOWN_UNMAPPED = 8  # label values named in the warning; the rest are counted
# Detection reads at most this many characters of a text: the language is settled well before,
# and a full CFPB export holds narratives of several thousand characters.
_DETECTION_CHARS = 500
_DETECTION_BATCH = 2000


def _detect_languages(texts: Sequence[str]) -> list[str | None]:
    """The language of each text by `features.language` (None where undetermined), each
    distinct text once, with a progress bar (a large file takes minutes)."""
    from features.language import detect_languages

    distinct = list(dict.fromkeys(text[:_DETECTION_CHARS] for text in texts))
    found: dict[str, str | None] = {}
    with typer.progressbar(length=len(distinct), label="detecting languages") as bar:
        for start in range(0, len(distinct), _DETECTION_BATCH):
            batch = distinct[start : start + _DETECTION_BATCH]
            for text, detection in zip(batch, detect_languages(batch), strict=True):
                found[text] = detection.language
            bar.update(len(batch))
    return [found[text[:_DETECTION_CHARS]] for text in texts]


@app.command("synth")
def synthesize(
    interactions: Annotated[int, typer.Option(min=1, help="Number of interactions.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed and size, same data.")] = 0,
    name: Annotated[
        str | None, typer.Option(help="Dataset name (default synthetic-N-sSEED).")
    ] = None,
    users: Annotated[
        int | None, typer.Option(min=1, help="Number of users (default: interactions / 50).")
    ] = None,
    items: Annotated[
        int | None,
        typer.Option(min=1, help="Catalog size (default: interactions / 400, at least 200)."),
    ] = None,
) -> None:
    """Generate a synthetic interactions+items dataset for scale and load tests."""
    config = SyntheticConfig(interactions=interactions, seed=seed, users=users, items=items)
    try:
        config.validate()
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    dataset = name or f"synthetic-{interactions}-s{seed}"
    started = time.perf_counter()
    inter_path = imported_frame_path(dataset, Kind.INTERACTIONS)
    items_path = imported_frame_path(dataset, Kind.ITEMS)
    with typer.progressbar(length=interactions, label="generating") as bar:
        generate(config, inter_path, items_path, progress=bar.update)
    n_users, n_items = config.sizes()
    source = {"synthetic": True, "seed": seed, "users": n_users, "items": n_items}
    record_frame(dataset, Kind.INTERACTIONS, {**source, "rows_kept": interactions})
    record_frame(dataset, Kind.ITEMS, {**source, "rows_kept": n_items})
    elapsed = time.perf_counter() - started
    typer.echo(
        f"{dataset}: {interactions} interactions, {n_users} users, {n_items} items "
        f"in {elapsed:.1f} s"
    )
