"""`vaxres report --html FILE`: one self-contained page (charts of the fill rate by day and by
hospital, the report's table, the uptake by eligibility window when there are windows, when and
from which store it was made), written whole or not at all.

Self-contained: the CSS is inline, the charts are inline SVG, there is no script, and a
Content-Security-Policy forbids the page to load anything, so it opens the same offline, from an
e-mail or an intranet. Every name is escaped (`html.escape`; the charts' SVG text by matplotlib).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import html
import os
import tempfile
from pathlib import Path
from typing import Any

from vaxres.db import locking
from vaxres.db.store import Store
from vaxres.db.tables import utcnow
from vaxres.errors import InvalidInput
from vaxres.files import OutputExists, is_special, not_regular
from vaxres.paths import check_length, length_checked, too_long
from vaxres.reports import uptake_page
from vaxres.reports.charts import visible
from vaxres.reports.figures import Figures, Report, Scope, read_report
from vaxres.reports.uptake import UptakeReport, read_uptake

STYLE = """
body { font-family: "DejaVu Sans", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif;
       margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; }
.made { color: #555; margin-top: 0; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
figcaption, .note { color: #555; font-size: .9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .9rem; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #ddd; }
th { text-align: left; }
thead th, td[data-field] { white-space: nowrap; }
tbody th { min-width: 10rem; }
td.n, th.n { text-align: right; }
tfoot td { font-weight: bold; border-top: 2px solid #888; }
.bar { display: inline-block; width: 4rem; height: .7rem; background: #e8e8e8; vertical-align: middle;
       margin-right: .4rem; }
.bar span { display: block; height: 100%; background: #2f6fae; }
"""
LEGEND = "Grey: the capacity; blue: booked; red: full (no dose left)."
FILL_NOTE = (
    '<p class="note">Fill rate = booked ÷ capacity, where booked = reserved + administered + no-show '
    "(the doses taken out of the slots; a cancelled booking gave its dose back). Waiting: the waitlist "
    "entries a freed dose of the line would be offered to; the total counts each entry once.</p>"
)
CSP = "default-src 'none'; style-src 'unsafe-inline'"
HEADERS = ("Capacity", "Reserved", "Administered", "No-show", "Cancelled", "Remaining", "Booked", "Waiting")
FIELDS = ("capacity", "reserved", "administered", "no_show", "cancelled", "remaining", "booked", "waiting")


def write_page(store: Store, path: str, *, force: bool = False, **options: Any) -> Report | UptakeReport:
    """Check the options and the file first, then read the figures (one read transaction), draw
    the page and put it in place; returns the report of --by for the caller to summarise."""
    scope = Scope.parse(**options)
    target = _Target(path, force=force)
    try:
        with store.read() as conn:
            locking.one_snapshot(conn)  # the reports see one store
            groupings = dict.fromkeys(by for by in (scope.by, "day", "hospital") if by != "window")
            reports = {by: read_report(conn, dataclasses.replace(scope, by=by)) for by in groupings}
            uptake = read_uptake(conn, dataclasses.replace(scope, by="window"))
        made = utcnow().astimezone(store.zone)
        text = render(reports, scope.by, made=made, store=store.display, uptake=uptake)
        target.write(text.encode("utf-8"))
    finally:
        target.discard()
    return uptake if scope.by == "window" else reports[scope.by]


def render(
    reports: dict[str, Report], by: str, *, made: dt.datetime, store: str, uptake: UptakeReport | None = None
) -> str:
    """The page: the fill charts and the table of --by; the uptake section when windows are in
    scope (with --by window, in the place of the slots' table)."""
    main = reports["day" if by == "window" else by]
    e = html.escape
    subject = "Uptake" if by == "window" else "Slot utilisation"
    heading = e(visible(dataclasses.replace(main.scope, by=by).describe(subject)))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{heading}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{heading}</h1>",
        f'<p class="made">Made {e(made.strftime("%Y-%m-%d %H:%M %Z"))} from the store <code>{e(visible(store))}</code>.</p>',
    ]
    if by == "window":
        if main.lines:
            parts += _charts(reports["day"], reports["hospital"])
        parts += uptake_page.section(uptake) if uptake and uptake.lines else ["<p>No windows match.</p>"]
    elif not main.lines:
        parts.append("<p>No slots match.</p>")
    else:
        parts += _charts(reports["day"], reports["hospital"])
        parts += _table(main)
    if by != "window" and uptake and uptake.lines:
        parts += uptake_page.section(uptake)
    if by != "window" or main.lines:
        parts.append(FILL_NOTE)
    parts += [
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _charts(by_day: Report, by_hospital: Report) -> list[str]:
    from vaxres.reports import charts

    days = [dt.date.fromisoformat(line.name) for line in by_day.lines]
    names = [line.name for line in by_hospital.lines]
    hospital_rates = [line.figures.fill_rate or 0.0 for line in by_hospital.lines]
    _, cut = charts.chosen_hospitals(names, hospital_rates)
    caption = (
        f"The {charts.MAX_HOSPITALS // 2} fullest and the {charts.MAX_HOSPITALS // 2} emptiest of "
        f"{len(names):,} hospitals; <code>vaxres report --by hospital</code> lists every one."
        if cut
        else f"{len(names):,} hospital{'s' if len(names) != 1 else ''}, fullest first."
    )
    caption = f"{caption} {LEGEND}"
    return [
        '<section id="by-day">',
        "<h2>Fill rate by day</h2>",
        f"<figure>{charts.fill_by_day(days, [line.figures.fill_rate or 0.0 for line in by_day.lines])}"
        f"<figcaption>{LEGEND}</figcaption></figure>",
        "</section>",
        '<section id="by-hospital">',
        "<h2>Fill rate by hospital</h2>",
        f"<figure>{charts.fill_by_hospital(names, hospital_rates)}<figcaption>{caption}</figcaption></figure>",
        "</section>",
    ]


def _table(report: Report) -> list[str]:
    e = html.escape
    by = report.scope.by
    head = "".join(f'<th class="n" scope="col">{h}</th>' for h in HEADERS)
    rows = [f'<tr><th scope="row">{e(visible(line.name))}</th>{_cells(line.figures)}</tr>' for line in report.lines]
    parts = [
        '<section id="table">',
        f"<h2>By {by}</h2>",
        '<div class="scroll">',
        f'<table id="figures" data-by="{by}">',
        f'<thead><tr><th scope="col">{by.capitalize()}</th>{head}<th scope="col">Fill rate</th></tr></thead>',
        "<tbody>",
        *rows,
        "</tbody>",
        f"<tfoot><tr><td>Total</td>{_cells(report.total)}</tr></tfoot>",
        "</table>",
        "</div>",
    ]
    if report.any_hospital:
        parts.append(
            f'<p class="note" id="any-hospital">Also waiting, for any hospital: {report.any_hospital:,} (in the total).</p>'
        )
    parts.append("</section>")
    return parts


def _cells(figures: Figures) -> str:
    values = figures.as_json()
    numbers = "".join(f'<td class="n" data-field="{f}">{values[f]:,}</td>' for f in FIELDS)
    rate = figures.fill_rate
    if rate is None:
        return numbers + '<td data-field="fill_rate"></td>'
    bar = f'<span class="bar"><span style="width: {rate * 100:.1f}%"></span></span>'
    return numbers + f'<td data-field="fill_rate" data-value="{values["fill_rate"]}">{bar}{rate * 100:.1f}%</td>'


class _Target:
    """The --html file: refused at once when it exists (without --force) or cannot be written;
    the page goes into a temporary file beside it, renamed into place once whole."""

    def __init__(self, path: str, *, force: bool):
        self.path, self.force = Path(path), force
        self.temporary: Path | None = None  # made below, after the checks: removed if anything fails
        if not str(path).strip():
            raise InvalidInput("--html needs a file name, got ''")
        check_length(path, option="--html")
        with length_checked("--html"):
            self._check()
        try:
            fd, name = tempfile.mkstemp(prefix=".vaxres-report-", suffix=".tmp", dir=self.path.parent)
        except OSError as exc:
            raise too_long(exc, option="--html") or InvalidInput(
                f"cannot write --html {path}: {_reason(exc, self.path.parent)}"
            ) from None
        os.close(fd)
        self.temporary = Path(name)

    def _check(self) -> None:
        path = self.path
        if path.is_symlink():
            raise InvalidInput(f"--html {path} is a symbolic link; name the file itself")
        if path.is_dir():
            raise InvalidInput(f"--html {path} is a folder; name a file in it")
        if is_special(path):  # a pipe or a device: renamed over, even with --force, it would be lost
            raise not_regular(path, "--html", dash=False)
        if path.exists() and not self.force:
            raise OutputExists(f"--html {path} already exists; name a new file, or pass --force to replace it")

    def write(self, data: bytes) -> None:
        assert self.temporary is not None  # __init__ made it
        try:
            with open(self.temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.temporary, 0o666 & ~umask)  # as any file the user writes: it holds no personal data
            if self.force:
                if is_special(self.path):  # made meanwhile
                    raise not_regular(self.path, "--html", dash=False)
                os.replace(self.temporary, self.path)
            else:
                self._link()
        except FileExistsError:
            raise OutputExists(
                f"--html {self.path} already exists; name a new file, or pass --force to replace it"
            ) from None
        except OSError as exc:
            raise too_long(exc, option="--html") or InvalidInput(
                f"cannot write --html {self.path}: {_reason(exc, self.path.parent)}"
            ) from None

    def _link(self) -> None:
        """Into place only if no file took the name meanwhile; a file system without hard links
        (FAT, some network shares) gets a last look and a rename."""
        assert self.temporary is not None  # __init__ made it
        try:
            os.link(self.temporary, self.path)
        except OSError as exc:
            if isinstance(exc, FileExistsError) or exc.errno not in (
                errno.EPERM,
                errno.ENOTSUP,
                errno.EXDEV,
                errno.EMLINK,
            ):
                raise
            if self.path.exists():
                raise FileExistsError(str(self.path)) from None
            os.replace(self.temporary, self.path)

    def discard(self) -> None:
        if self.temporary is not None:
            self.temporary.unlink(missing_ok=True)


def _reason(exc: OSError, folder: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return f"the folder {folder} does not exist"
    return (exc.strerror or str(exc)).lower()
