"""The warehouse report: one self-contained HTML file with charts, and a markdown summary.

Charts are Altair (Vega-Lite) specs rendered in the browser by vega-embed. The JavaScript
(Vega, Vega-Lite, vega-embed) is inlined from the ``vl-convert-python`` package's bundle,
so the file renders offline, with no CDN: the same thing Altair's ``inline=True`` does,
but one bundle for four charts. Each chart's container gets ``data-rendered="true"`` once
drawn (or ``data-error``), which the headless-browser test reads.

``write_report`` and ``report_summary_markdown`` are what the nightly flow calls; the
summary has numbers only (no personal data), fit for a Prefect markdown artifact.
"""

from __future__ import annotations

import functools
import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from leadflow.report.data import (
    Period,
    ReportData,
    hour_bins,
    read_report_data,
    summary_tables,
)

CHART_WIDTH = 520
COST_TOOLTIP = [
    "platform:N",
    "campaign_name:N",
    "currency:N",
    "spend:Q",
    "qualified:Q",
    "cost_per_qualified_lead:Q",
]
# (step shown, ReportData.funnel column): cohort counts, so the steps nest.
FUNNEL_STEPS = (
    ("leads", "leads"),
    ("people", "people"),
    ("qualified", "cohort_qualified"),
    ("sql", "cohort_sql"),
)


def load_report_data(
    warehouse_url: str, period: str | None = None, as_of: datetime | None = None
) -> ReportData:
    """Migrate the warehouse (the views come with it) and read the report's rows as of
    ``as_of`` (default: now)."""
    from leadflow.models.warehouse.engine import open_warehouse
    from leadflow.models.warehouse.migrate import upgrade

    chosen = Period.parse(period)
    with open_warehouse(warehouse_url) as engine:
        upgrade(engine)
        with engine.connect() as conn:
            return read_report_data(conn, chosen, as_of)


def charts(data: ReportData) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(title, caption, Vega-Lite spec or None when there is nothing to draw) per chart."""
    import altair as alt

    funnel = [
        {"source": row["source"], "step": step, "order": n, "count": row[name]}
        for row in data.funnel
        for n, (step, name) in enumerate(FUNNEL_STEPS)
    ]
    cost = [row for row in data.cost if row["cost_per_qualified_lead"] is not None]
    sla = [row for row in data.sla if row["percentage"] is not None]
    speed = hour_bins(data.speed)
    specs = [
        (
            "Funnel by source",
            "Leads created in the period, the people behind them, and how many of those "
            "people are qualified (MQL) and sales-qualified (SQL) by now.",
            funnel
            and alt.Chart(alt.Data(values=funnel))
            .mark_bar()
            .encode(
                x=alt.X("step:N", sort=["leads", "people", "qualified", "sql"], title=None),
                y=alt.Y("count:Q", title="count"),
                color=alt.Color("source:N"),
                xOffset="source:N",
                tooltip=["source:N", "step:N", "count:Q"],
            ),
        ),
        (
            "Cost per qualified lead by campaign",
            "Spend in the period divided by the qualified people behind the campaign's "
            "leads of the period: one panel per currency (never added up across currencies); "
            "campaigns without reported spend are left out.",
            cost
            and alt.Chart(alt.Data(values=cost))
            .mark_bar()
            .encode(
                y=alt.Y("campaign_name:N", sort="-x", title="campaign"),
                x=alt.X("cost_per_qualified_lead:Q", title="cost per qualified lead"),
                color=alt.Color("platform:N"),
                tooltip=COST_TOOLTIP,
            )
            .properties(width=CHART_WIDTH - 120)
            .facet(row=alt.Row("currency:N"))
            .resolve_scale(x="independent", y="independent"),
        ),
        (
            "SLA compliance by week and team",
            "Share of decided SLA evaluations that were met (pending ones are not decided), "
            "per ISO week, team and rule; a week not ended at report time is marked partial "
            "(its share is to date).",
            sla
            and alt.Chart(alt.Data(values=sla))
            .mark_line(point=True)
            .encode(
                x=alt.X("week_label:O", title="week"),
                y=alt.Y("percentage:Q", scale=alt.Scale(domain=[0, 100]), title="% met"),
                color=alt.Color("team:N"),
                tooltip=["week_label:O", "team:N", "rule:N", "met:Q", "breached:Q", "pending:Q"],
            )
            .properties(width=240, height=160)
            .facet(facet=alt.Facet("rule:N"), columns=2),
        ),
        (
            "Speed to lead",
            "Business hours from qualification to the first outbound sales touch, per team.",
            speed
            and alt.Chart(alt.Data(values=speed))
            .mark_bar()
            .encode(
                x=alt.X("start:Q", bin="binned", title="business hours to first touch"),
                x2="end:Q",
                y=alt.Y("count:Q", title="qualified people"),
                color=alt.Color("team:N"),
                tooltip=["team:N", "start:Q", "end:Q", "count:Q"],
            ),
        ),
    ]
    return [
        (title, caption, _sized(chart.to_dict()) if chart else None)
        for title, caption, chart in specs
    ]


def _sized(spec: dict[str, Any]) -> dict[str, Any]:
    if "facet" not in spec:
        spec.setdefault("width", CHART_WIDTH)
        spec.setdefault("height", 260)
    return spec


@functools.lru_cache(maxsize=1)
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from vl-convert; a few seconds once)."""
    import vl_convert
    from altair.utils._importers import vl_version_for_vl_convert

    return vl_convert.javascript_bundle(vl_version=vl_version_for_vl_convert())


def _script_safe(text: str) -> str:
    """Text that cannot close its <script> element early (``<\\/`` means ``</`` in JS strings
    and regular expressions alike)."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    sections, embeds = [], []
    for number, (title, caption, spec) in enumerate(charts(data), start=1):
        body = (
            f'<div class="chart" id="chart-{number}"></div>'
            if spec
            else '<p class="empty">No data for this period.</p>'
        )
        sections.append(f"<section><h2>{html.escape(title)}</h2>"
                        f"<p>{html.escape(caption)}</p>{body}</section>")  # fmt: skip
        if spec:
            embeds.append(f"draw('#chart-{number}', {_script_safe(json.dumps(spec))});")
    return PAGE.format(
        period=html.escape(data.period.label(data.as_of)),
        partial_note=html.escape(PARTIAL_NOTE.format(as_of=_as_of(data))),
        summary=_summary_html(data),
        sections="\n".join(sections),
        bundle=_script_safe(javascript_bundle()),
        embeds="\n".join(embeds),
    )


def _as_of(data: ReportData) -> str:
    return f"{data.as_of.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


PARTIAL_NOTE = (
    "A period that had not ended at report time ({as_of}) is partial: shown to date and "
    "labelled so; no month-over-month rate is computed from or for it, and nothing is "
    "extrapolated. The headline rate is the latest complete month's. Months are UTC."
)


def _summary_html(data: ReportData) -> str:
    return "\n".join(
        f"<h3>{html.escape(name)}</h3>{_table_html(rows)}"
        for name, rows in summary_tables(data).items()
    )


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def write_report(
    warehouse_url: str, out: str | Path, period: str | None = None, as_of: datetime | None = None
) -> Path:
    """Write the HTML report for ``period`` (YYYY, YYYY-MM or None: all) to ``out``, as of
    ``as_of`` (default: now)."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = load_report_data(warehouse_url, period, as_of)
    path.write_text(render_html(data), encoding="utf-8")
    return path.resolve()


def report_summary_markdown(
    warehouse_url: str, period: str | None = None, as_of: datetime | None = None
) -> str:
    """The report's numbers as markdown (for a Prefect artifact): no personal data."""
    data = load_report_data(warehouse_url, period, as_of)
    parts = [f"# leadflow report — {data.period.label(data.as_of)}", "",
             PARTIAL_NOTE.format(as_of=_as_of(data))]  # fmt: skip
    for name, rows in summary_tables(data).items():
        parts.append(f"\n## {name}\n")
        if not rows:
            parts.append("none")
            continue
        parts.append("| " + " | ".join(rows[0]) + " |")
        parts.append("|" + " --- |" * len(rows[0]))
        parts += ["| " + " | ".join(_cell(v) for v in row.values()) + " |" for row in rows]
    return "\n".join(parts) + "\n"


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>leadflow report — {period}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; }}
table {{ border-collapse: collapse; margin-bottom: 1rem; font-size: 0.9rem; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: right; }}
section {{ margin: 2rem 0; }}
.empty {{ color: #888; }}
</style>
<script>
{bundle}
</script>
</head>
<body>
<h1>leadflow report — {period}</h1>
<p>From the warehouse's BI views (v_funnel_monthly, v_cost_per_lead_monthly,
v_sla_compliance_weekly, v_speed_to_lead, v_lead_velocity). No personal data.</p>
<p class="partial-note">{partial_note}</p>
{summary}
{sections}
<script>
function draw(selector, spec) {{
  const element = document.querySelector(selector);
  vegaEmbed(selector, spec, {{renderer: "svg", actions: false}})
    .then(() => {{ element.dataset.rendered = "true"; }})
    .catch((error) => {{ element.dataset.error = String(error); console.error(error); }});
}}
{embeds}
</script>
</body>
</html>
"""
