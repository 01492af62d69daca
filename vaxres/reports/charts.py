"""The report page's charts, drawn by matplotlib as SVG to inline in the page. Imported only for
`report --html`: the terminal report never loads matplotlib.

Names stay text: `svg.fonttype: none` writes them as <text> (escaped by matplotlib's SVG writer,
so a hospital called `<script>` is shown, not run) and `text.parse_math: False` keeps a `$` from
being read as mathematics. The SVG carries no metadata, link or font file.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Sequence

# Measured with the first font that has a glyph; a browser draws with the first it has.
FONTS = ["DejaVu Sans", "Noto Sans CJK KR", "Malgun Gothic", "Apple SD Gothic Neo", "NanumGothic", "sans-serif"]
MAX_HOSPITALS = 40  # bars in the hospital chart; past it, the fullest and the emptiest half each
LABEL_CHARS = 40
BAR_COLOUR = "#2f6fae"
FULL_COLOUR = "#c0392b"  # a line with no dose left
GIVEN_COLOUR = "#2e8b57"  # the share vaccinated, beside the share booked
TRACK_COLOUR = "#e8e8e8"  # behind each bar: a day or hospital at 0% still shows it has slots


def _settings(salt: str) -> dict:
    return {
        "svg.fonttype": "none",
        "svg.hashsalt": salt,  # ids differ between the charts of one page, and stay the same run to run
        "text.parse_math": False,
        "font.family": FONTS,
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _svg(figure, salt: str) -> str:
    """The figure as an <svg> element, without the XML declaration and DOCTYPE (it goes inside HTML)."""
    import matplotlib

    out = io.StringIO()
    with matplotlib.rc_context(_settings(salt)), _quiet_fonts():
        figure.savefig(
            out,
            format="svg",
            bbox_inches="tight",
            metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
        )
    text = out.getvalue()
    return text[text.index("<svg") :]


class _quiet_fonts:
    """A font without Hangul, or one not installed, is no news for the user: the page names fallbacks."""

    def __enter__(self) -> None:
        self.logger = logging.getLogger("matplotlib.font_manager")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        warnings.filterwarnings("ignore", message=r"(?s).*(Glyph|font).*")

    def __exit__(self, *exc) -> None:
        self.warnings.__exit__(*exc)
        self.logger.setLevel(self.level)


def _figure(salt: str, size: tuple[float, float]):
    import matplotlib

    matplotlib.use("svg", force=False)
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_settings(salt)):
        figure = Figure(figsize=size)
        axes = figure.add_subplot()
    return figure, axes


def fill_by_day(days: Sequence, rates: Sequence[float]) -> str:
    """Bars of the fill rate (0 to 100%) per day, on a date axis."""
    import matplotlib
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
    from matplotlib.ticker import PercentFormatter

    figure, axes = _figure("vaxres-day", (10, 3.2))
    with matplotlib.rc_context(_settings("vaxres-day")):
        percents = [rate * 100 for rate in rates]
        colours = [FULL_COLOUR if p >= 100 else BAR_COLOUR for p in percents]
        width = 0.8 if len(days) < 60 else 1.0
        axes.bar(list(days), [100] * len(days), width=width, color=TRACK_COLOUR)
        axes.bar(list(days), percents, width=width, color=colours)
        locator = AutoDateLocator(minticks=3, maxticks=12)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.set_ylim(0, 100)
        axes.yaxis.set_major_formatter(PercentFormatter(100))
        axes.grid(axis="y", color="#dddddd")
        axes.set_axisbelow(True)
        axes.set_ylabel("fill rate")
    return _svg(figure, "vaxres-day")


def chosen_hospitals(names: Sequence[str], rates: Sequence[float]) -> tuple[list[tuple[str, float]], bool]:
    """The hospitals the chart shows, fullest first: all of them up to MAX_HOSPITALS, else the
    fullest and the emptiest half each; and whether some were left out."""
    ranked = sorted(zip(names, rates), key=lambda pair: (-pair[1], pair[0]))
    if len(ranked) <= MAX_HOSPITALS:
        return ranked, False
    half = MAX_HOSPITALS // 2
    return ranked[:half] + ranked[-half:], True


def fill_by_hospital(names: Sequence[str], rates: Sequence[float]) -> str:
    """Horizontal bars, fullest at the top, each labelled with its fill rate."""
    import matplotlib
    from matplotlib.ticker import PercentFormatter

    shown, cut = chosen_hospitals(names, rates)
    figure, axes = _figure("vaxres-hospital", (10, 0.8 + 0.3 * len(shown)))
    with matplotlib.rc_context(_settings("vaxres-hospital")):
        labels = [_short(name) for name, _ in shown]
        percents = [rate * 100 for _, rate in shown]
        positions = list(range(len(shown)))
        colours = [FULL_COLOUR if p >= 100 else BAR_COLOUR for p in percents]
        axes.barh(positions, [100] * len(positions), color=TRACK_COLOUR, height=0.7)
        bars = axes.barh(positions, percents, color=colours, height=0.7)
        axes.set_yticks(positions, labels)
        axes.set_ylim(len(shown) - 0.4, -0.6)  # the fullest at the top, no empty band above it
        axes.set_xlim(0, 100)
        axes.xaxis.set_major_formatter(PercentFormatter(100))
        axes.grid(axis="x", color="#dddddd")
        axes.set_axisbelow(True)
        axes.bar_label(bars, labels=[f"{p:.0f}%" for p in percents], padding=3, fontsize=9)
        if cut:  # between the fullest and the emptiest
            axes.axhline(MAX_HOSPITALS // 2 - 0.5, color="#888888", linestyle=(0, (4, 3)), linewidth=1)
        axes.set_xlabel("fill rate")
    return _svg(figure, "vaxres-hospital")


def uptake_by_window(names: Sequence[str], booked: Sequence[float | None], given: Sequence[float | None]) -> str:
    """Two horizontal bars per window, in the order given: the share booked and the share
    vaccinated of the people registered it matches, each over a grey bar of 100%; a window that
    matches nobody has no bars and says so."""
    import matplotlib
    from matplotlib.ticker import PercentFormatter

    figure, axes = _figure("vaxres-window", (10, 1.0 + 0.6 * len(names)))
    with matplotlib.rc_context(_settings("vaxres-window")):
        rows = list(range(len(names)))
        for offset, shares, colour, label in (
            (-0.2, booked, BAR_COLOUR, "booked"),
            (0.2, given, GIVEN_COLOUR, "vaccinated"),
        ):
            places = [row + offset for row in rows]
            percents = [0.0 if share is None else share * 100 for share in shares]
            axes.barh(places, [100] * len(places), color=TRACK_COLOUR, height=0.38)
            bars = axes.barh(places, percents, color=colour, height=0.38, label=label)
            texts = ["–" if share is None else f"{p:.0f}%" for share, p in zip(shares, percents)]
            axes.bar_label(bars, labels=texts, padding=3, fontsize=9)
        axes.set_yticks(rows, [_short(name) for name in names])
        axes.set_ylim(len(names) - 0.4, -0.6)  # the first window at the top
        axes.set_xlim(0, 100)
        axes.xaxis.set_major_formatter(PercentFormatter(100))
        axes.grid(axis="x", color="#dddddd")
        axes.set_axisbelow(True)
        axes.legend(loc="lower right", bbox_to_anchor=(1, 1), ncol=2, frameon=False)
        axes.set_xlabel("share of the people registered the window matches")
    return _svg(figure, "vaxres-window")


_SPACES = re.compile(r"\s+")


def visible(text: str) -> str:
    """Control and format characters (a store edited by hand may hold what vaxres refuses) written
    as escapes, so that U+202E cannot turn a name around nor an escape code reach a terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _short(name: str) -> str:
    """A name on one line, cut to LABEL_CHARS for an axis (the table has it whole)."""
    text = visible(_SPACES.sub(" ", name))
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"
