"""`agora report complaints`: the complaint summary as one self-contained HTML page.

The numbers are `serving.complaint_summary`'s (what `GET /analytics/complaints` answers); the
charts are matplotlib PNGs inlined as base64, so the page needs no network and no other file.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.exit_codes import bad_input
from cli.options import StoreOption
from training.fonts import cjk_fallback

if TYPE_CHECKING:
    from matplotlib.figure import Figure

app = typer.Typer(
    help="Reports for people: complaint trends, spikes and alerts.", no_args_is_help=True
)

TOP_GROUPS = 8  # groups drawn per chart; the rest are summed as "other"
ALERT_ROWS = 40  # groups in the alert timeline


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _img(figure: Figure, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{_png(figure)}">'


def _day_axis(axes: Any, days: list[str]) -> list[int]:
    """Bar positions for `days`, labelled month-day."""
    positions = list(range(len(days)))
    axes.set_xticks(positions, [d[5:] for d in days], fontsize=8)
    return positions


def _volume_chart(summary: dict[str, Any]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.4))
    axes = figure.subplots()
    days = _day_axis(axes, summary["days"])
    axes.bar(days, summary["messages"], color="#c9d6e3", label="messages triaged")
    axes.bar(days, summary["complaints"], color="#d9534f", label="complaints")
    axes.set_ylabel("per day")
    share = axes.twinx()
    values = [s if s is not None else float("nan") for s in summary["negative_share"]]
    share.plot(days, values, color="#222", marker="o", label="negative share")
    share.set_ylim(0, 1)
    share.set_ylabel("negative share")
    axes.legend(loc="upper left", fontsize=8)
    share.legend(loc="upper right", fontsize=8)
    axes.set_title(f"Volume, complaints and negative share per day ({summary['time_zone']})")
    return figure


def _groups_chart(summary: dict[str, Any]) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 3.6))
    axes = figure.subplots()
    days = _day_axis(axes, summary["days"])
    bottom = [0] * len(days)
    groups = summary["groups"][:TOP_GROUPS]
    rest = [sum(g["counts"][i] for g in summary["groups"][TOP_GROUPS:]) for i in range(len(days))]
    rest = [a + b for a, b in zip(rest, summary["other"], strict=True)]
    series = [(g["group"], g["counts"]) for g in groups] + ([("other", rest)] if any(rest) else [])
    for name, counts in series:
        axes.bar(days, counts, bottom=bottom, label=name[:40])
        bottom = [a + b for a, b in zip(bottom, counts, strict=True)]
    axes.set_ylabel("complaints per day")
    axes.set_title(f"Complaints by {summary['by']} per day")
    if series:
        axes.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        axes.text(
            0.5,
            0.5,
            f"no complaint carries a {summary['by']}",
            ha="center",
            transform=axes.transAxes,
        )
    return figure


def _bars(labels: list[str], values: list[float], title: str, colour: str) -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 0.35 * max(3, len(labels)) + 0.8))
    axes = figure.subplots()
    axes.barh(list(reversed(labels)), list(reversed(values)), color=colour)
    axes.set_title(title)
    axes.tick_params(axis="y", labelsize=8)
    return figure


def _alerts_chart(alerts: list[dict[str, Any]]) -> Figure:
    """Each alert as a dot at its window, one row per group (the latest ALERT_ROWS groups)."""
    from matplotlib.figure import Figure

    labels = list(dict.fromkeys(f"{a['dimension']}: {a['group_value']}"[:50] for a in alerts))
    labels = labels[-ALERT_ROWS:]
    figure = Figure(figsize=(10, 0.28 * len(labels) + 1.2))
    axes = figure.subplots()
    colours = {"reason": "#d9534f", "item": "#5b8fc7", "item_reason": "#8e6bb8"}
    for alert in alerts:
        label = f"{alert['dimension']}: {alert['group_value']}"[:50]
        if label in labels:
            when = dt.datetime.fromtimestamp(alert["window_start"], dt.UTC)
            axes.scatter(when, labels.index(label), color=colours.get(alert["dimension"], "#444"))
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.invert_yaxis()
    axes.grid(axis="x", alpha=0.3)
    axes.set_title("Spike alerts over time (window start, UTC)")
    figure.autofmt_xdate()
    return figure


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p>No alerts were raised in this range.</p>"
    rows = []
    for alert in alerts:
        d = alert["details"]
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    _when(alert["window_start"]),
                    alert["dimension"],
                    alert["group_value"],
                    f"{d.get('count')} of {d.get('volume')}",
                    f"{d.get('baseline_count')} of {d.get('baseline_volume')}",
                    d.get("ratio") if d.get("ratio") is not None else "new",
                    f"{d.get('p_value', float('nan')):.1e}",
                    f"{d.get('p_adjusted', float('nan')):.1e}",
                )
            )
            + "</tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "window (UTC)",
            "dimension",
            "group",
            "complaints / messages",
            "baseline",
            "rate ratio",
            "p",
            "p (BH)",
        )
    )
    test = html.escape(str(alerts[0]["details"].get("test", "")))
    return (
        f"<table><tr>{head}</tr>{''.join(rows)}</table><p class='note'>Test: {test}. "
        "The baseline is the previous windows; an alert is raised once per spike.</p>"
    )


def _terms_table(terms: list[dict[str, Any]]) -> str:
    """The emerging terms as text too: readable (and searchable) whatever fonts drew the chart."""
    head = "<tr><th>term</th><th>texts, last day</th><th>texts, days before</th><th>z</th></tr>"
    rows = "".join(
        f"<tr><td>{html.escape(str(t['term']))}</td><td>{t['recent_texts']}</td>"
        f"<td>{t['baseline_texts']}</td><td>{t['score']:.2f}</td></tr>"
        for t in terms
    )
    return f"<table>{head}{rows}</table>"


def render(summaries: dict[str, dict[str, Any]]) -> str:
    """The HTML page of one summary per dimension (the first carries terms, items, alerts)."""
    import matplotlib

    matplotlib.use("Agg")
    # Labels are client text (item ids, groups, terms): read as mathtext, an item id such as
    # `$\\nope{$` (any triage key can send one) made savefig raise and the report fail.
    with cjk_fallback(), matplotlib.rc_context({"text.parse_math": False}):
        return _page(summaries)


def _page(summaries: dict[str, dict[str, Any]]) -> str:
    first = next(iter(summaries.values()))
    parts = [
        "<h2>Volume and negative share</h2>",
        _img(_volume_chart(first), "volume per day"),
    ]
    for by, summary in summaries.items():
        parts += [f"<h2>By {html.escape(by)}</h2>", _img(_groups_chart(summary), f"by {by}")]
    items = first["top_items"]
    if items:
        parts += [
            "<h2>Most complained-about items</h2>",
            _img(
                _bars(
                    [i["item_id"][:40] for i in items],
                    [i["complaints"] for i in items],
                    "complaints",
                    "#d9534f",
                ),
                "top items",
            ),
        ]
    terms = first.get("emerging_terms") or []
    parts.append("<h2>Emerging terms (last day against the days before)</h2>")
    if terms:
        parts.append(
            _img(
                _bars(
                    [f"{t['term']} ({t['recent_texts']} vs {t['baseline_texts']})" for t in terms],
                    [round(t["score"], 2) for t in terms],
                    "rise in the share of complaint texts holding the word (z of the log-odds)",
                    "#5b8fc7",
                ),
                "emerging terms",
            )
        )
        parts.append(_terms_table(terms))
    else:
        parts.append("<p>No term rose (or no complaints in the last day).</p>")
    parts.append("<h2>Spike alerts</h2>")
    if first["alerts"]:
        parts.append(_img(_alerts_chart(first["alerts"]), "alerts over time"))
    parts.append(_alerts_table(first["alerts"]))
    title = f"Complaints {first['days'][0]} to {first['days'][-1]}"
    style = (
        "body{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}"
        "img{max-width:100%}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}.note{color:#555}"
    )
    generated = _when(time.time())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>Generated {generated} UTC by agora report complaints. "
        f"{sum(first['messages'])} messages triaged, {sum(first['complaints'])} complaints.</p>"
        + "".join(parts)
        + "</body></html>"
    )


@app.command("complaints")
def complaints(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    since: Annotated[str, typer.Option(help="7d, 36h, an ISO date or epoch seconds.")] = "7d",
    until: Annotated[str | None, typer.Option(help="ISO date/time or epoch (default now).")] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            help="Whose days to count: an IANA time zone such as Asia/Shanghai (default "
            "$AGORA_ANALYTICS_TZ, else UTC); ISO dates are read in it too."
        ),
    ] = None,
    store_url: StoreOption = None,
) -> None:
    """Write a self-contained HTML report of complaint trends, terms and spike alerts."""
    from data.store import Store, StoreError
    from serving.complaint_summary import (
        SUMMARY_DIMENSIONS,
        AnalyticsInputError,
        complaint_summary,
        parse_time,
        time_zone,
    )

    try:
        zone = time_zone(tz)
        end = parse_time(until, "until", zone=zone) if until is not None else time.time()
        start = parse_time(since, "since", relative_to=end, zone=zone)
        store = Store(store_url, must_exist=True)
        summaries = {
            by: complaint_summary(store, start, end, by, terms=(i == 0), zone=zone)
            for i, by in enumerate(SUMMARY_DIMENSIONS)
        }
    except (AnalyticsInputError, StoreError) as error:
        raise bad_input(error) from None
    out.parent.mkdir(parents=True, exist_ok=True)  # as `agora batch ... --out` does
    out.write_text(render(summaries), encoding="utf-8")
    first = summaries[SUMMARY_DIMENSIONS[0]]
    typer.echo(
        f"report written to {out} (whole days of {first['time_zone']}, {first['days'][0]} "
        f"to {first['days'][-1]})"
    )
