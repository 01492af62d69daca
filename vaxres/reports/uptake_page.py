"""The report page's uptake section (issue 21, item 6): a chart of the shares booked and
vaccinated per eligibility window, with alt text saying the same, and their table. Names are
escaped as in the rest of the page (reports/page.py)."""

from __future__ import annotations

import html

from vaxres.reports.charts import visible
from vaxres.reports.uptake import Uptake, UptakeReport

HEADERS = ("Registered", "Booked", "Booked share", "Vaccinated", "Vaccinated share")
FIELDS = ("registered", "booked", "booked_share", "vaccinated", "vaccinated_share")
NOTE = (
    "Uptake: per window, the people in the registry it matches (its birth dates and groups, over "
    "all its days), those of them holding a booking of its vaccine (of its dose when it names one), "
    "and those given it; both shares are of the people registered."
)


def section(uptake: UptakeReport) -> list[str]:
    from vaxres.reports import charts

    e = html.escape
    names = [line.name for line in uptake.lines]
    chart = charts.uptake_by_window(
        names,
        [line.figures.booked_share for line in uptake.lines],
        [line.figures.vaccinated_share for line in uptake.lines],
    )
    # The chart's alt text: what it shows, window by window, for whoever cannot see it.
    alt = "Shares booked and vaccinated per window: " + "; ".join(
        f"{visible(line.name)}: {_said(line.figures)}" for line in uptake.lines
    )
    chart = chart.replace("<svg", f'<svg role="img" aria-label="{e(alt, quote=True)}"', 1)
    head = "".join(f'<th class="n" scope="col">{h}</th>' for h in HEADERS)
    rows = [
        f'<tr><th scope="row">{e(visible(line.name))}</th><td data-field="vaccine">{e(visible(line.vaccine))}</td>'
        f'<td class="n" data-field="dose">{"any" if line.dose is None else line.dose}</td>{_cells(line.figures)}</tr>'
        for line in uptake.lines
    ]
    return [
        '<section id="by-window">',
        "<h2>Uptake by window</h2>",
        f"<figure>{chart}<figcaption>Blue: booked; green: vaccinated; grey: everyone the window matches."
        "</figcaption></figure>",
        '<div class="scroll">',
        '<table id="uptake">',
        f'<thead><tr><th scope="col">Window</th><th scope="col">Vaccine</th><th class="n" scope="col">Dose</th>'
        f"{head}</tr></thead>",
        "<tbody>",
        *rows,
        "</tbody>",
        "</table>",
        "</div>",
        f'<p class="note">{NOTE}</p>',
        "</section>",
    ]


def _said(figures: Uptake) -> str:
    if figures.registered == 0:
        return "nobody registered"
    booked, given = figures.booked_share or 0.0, figures.vaccinated_share or 0.0
    return f"{booked * 100:.1f}% booked, {given * 100:.1f}% vaccinated of {figures.registered:,}"


def _cells(figures: Uptake) -> str:
    values = figures.as_json()
    cells = []
    for field in FIELDS:
        value = values[field]
        if not field.endswith("_share"):
            cells.append(f'<td class="n" data-field="{field}">{value:,}</td>')
        elif value is None:
            cells.append(f'<td class="n" data-field="{field}"></td>')
        else:
            share = getattr(figures, field)
            cells.append(f'<td class="n" data-field="{field}" data-value="{value}">{share * 100:.1f}%</td>')
    return "".join(cells)
