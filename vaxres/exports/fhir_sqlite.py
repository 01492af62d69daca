"""Immunizations made whole by SQLite (issue 24's speed goal): each line is one printf, built
in C the way a plain CSV's rows are joined by the database (exports/query.py), so Python only
joins batches of bytes.

Used on SQLite when the store's time zone keeps one offset (Asia/Seoul, UTC: no daylight saving
since 1990), where the offset is a constant, and the catalog is not so long that its formats
would crowd the statement (MOST_VACCINES); otherwise exports/fhir.py builds each line in Python.
Both make the same bytes (tests/test_fhir.py, and tests/test_fhir_fuzz.py for any text); a
person's id that is not already a FHIR id goes through fhir.resource_id, registered as an SQL
function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from vaxres.exports import fhir
from vaxres.exports.query import Sql

FHIR_ID_FUNCTION = "vaxres_fhir_id"
MOST_VACCINES = 100  # 48 formats each (timed, lot, 3 sites, 4 routes): 4,848 of the 32,766 parameters


def fixed_offset(zone: ZoneInfo) -> int | None:
    """The zone's offset in seconds when it has kept one since 1990 and keeps it to 2100, else None."""
    offsets = {
        dt.datetime(year, month, 1, tzinfo=zone).utcoffset() for year in range(1990, 2101) for month in (1, 4, 7, 10)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return None if offset is None else int(offset.total_seconds())


def prepare(driver: Any) -> None:
    driver.create_function(FHIR_ID_FUNCTION, 1, fhir.resource_id, deterministic=True)


@dataclass(frozen=True)
class Shape:
    """What a line's printf format holds as constant text: its vaccine (None: one the catalog
    lacks), whether the dose has its time, its site and route parts, whether it has a lot with
    an expiry."""

    vaccine: fhir.Vaccine | None
    timed: bool
    site: str
    route: str
    lot_and_expiry: bool


def statement(sql: Sql, where: str, vaccines: dict[str, fhir.Vaccine], offset: int) -> str:
    """SELECT the line of each dose given: the Immunization as exports/fhir.py writes it.
    `vaccines`: by the key of their name (slot.vaccine_key).

    Each line is one printf whose format holds all that is constant for its shape (codes,
    manufacturer, protocol, the zone's offset, site and route), chosen by nested CASEs: a
    row's shape costs it a few comparisons, and its own values are the only arguments (a CASE
    yielding a text, a function call or a `||` costs a copy and an allocation each)."""
    p = sql.param
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    suffix = "Z" if offset == 0 else f"{sign}{hours:02d}:{minutes:02d}"
    # GLOB and length() stop at a NUL, the byte count does not
    plain = (
        "length(r.user_id) BETWEEN 1 AND 64 AND length(CAST(r.user_id AS BLOB)) = length(r.user_id)"
        " AND r.user_id NOT GLOB '*[^-A-Za-z0-9]*'"
    )
    # given: YYYY-MM-DD HH:MM:SS.ffffff in UTC; local: datetime()'s YYYY-MM-DD HH:MM:SS, shifted,
    # of the time cut to the second as `recorded` is (datetime() with a modifier rounds to the
    # millisecond: 23:59:59.9996 would be the next day)
    local = f"replace(datetime(substr(r.administered_at, 1, 19), {p('fhir_shift', f'{offset:+d} seconds')}), ' ', 'T')"
    user = f"CASE WHEN {plain} THEN r.user_id ELSE {FHIR_ID_FUNCTION}(r.user_id) END"
    formats: dict[Shape, str] = {}

    def line(shape: Shape) -> str:
        if shape not in formats:
            formats[shape] = p(f"fhir_format{len(formats)}", _format(shape, suffix))
        arguments = ["r.id", "r.id"]
        if shape.vaccine is None:  # its name as the slot has it
            arguments.append("json_quote(s.vaccine)")
        arguments += [user, local if shape.timed else "s.date"]
        if shape.timed:
            arguments.append("replace(r.administered_at, ' ', 'T')")
        if shape.lot_and_expiry:
            arguments += ["json_quote(r.lot)", "r.lot_expires"]
        else:
            arguments += [
                """CASE WHEN r.lot IS NOT NULL THEN '"lotNumber":' || json_quote(r.lot) || ',' END""",
                """'"expirationDate":"' || r.lot_expires || '",'""",  # NULL, printed as nothing, without one
            ]
        arguments += ["json_quote(s.hospital)", "r.dose"]
        return f"printf({formats[shape]}, {', '.join(arguments)})"

    def choose(known: dict[str, Any], rest: list[Any]) -> str:
        """A CASE over the next of `rest` (field, the value compared or None for conditions,
        (WHEN, field's value) pairs, the ELSE's value), down to each shape's printf."""
        if not rest:
            return line(Shape(**known))
        (field, base, whens, otherwise), after = rest[0], rest[1:]
        cases = " ".join(f"WHEN {when} THEN {choose({**known, field: value}, after)}" for when, value in whens)
        return f"CASE {base + ' ' if base else ''}{cases} ELSE {choose({**known, field: otherwise}, after)} END"

    Dimension = tuple[str, str | None, list[tuple[str, Any]], Any]
    dimensions: list[Dimension] = [
        ("timed", None, [("r.administered_at IS NULL", False)], True),
        ("lot_and_expiry", None, [("r.lot IS NOT NULL AND r.lot_expires IS NOT NULL", True)], False),
        ("site", "r.site", [(p(f"fhir_site{n}", k), v) for n, (k, v) in enumerate(fhir.SITE_PARTS.items())], ""),
        ("route", "r.route", [(p(f"fhir_route{n}", k), v) for n, (k, v) in enumerate(fhir.ROUTE_PARTS.items())], ""),
        ("vaccine", "s.vaccine_key", [(p(f"fhir_v{n}", k), v) for n, (k, v) in enumerate(vaccines.items())], None),
    ]
    if not vaccines:
        dimensions.pop()
        return _select(choose({"vaccine": None}, dimensions), where)
    return _select(choose({}, dimensions), where)


def _select(line: str, where: str) -> str:
    return f"SELECT {line} FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{where} ORDER BY r.id"


def uncoded_count(sql: Sql, where: str, vaccines: dict[str, fhir.Vaccine]) -> str:
    """SELECT the count of doses whose vaccine has no CVX, SNOMED CT or ATC code: slots first,
    so a store whose vaccines all have codes answers from the index of reservations by slot."""
    coded = [sql.param(f"fhir_coded{n}", key) for n, (key, v) in enumerate(vaccines.items()) if v.coded]
    other = f" AND s.vaccine_key NOT IN ({', '.join(coded)})" if coded else ""
    return f"SELECT count(*) FROM slot AS s CROSS JOIN reservation AS r ON r.slot_id = s.id{where}{other}"


def _format(shape: Shape, suffix: str) -> str:
    """The printf format of a shape's lines; `suffix`: the zone's offset."""

    def literal(text: str) -> str:
        return text.replace("%", "%%")

    vaccine = shape.vaccine
    code = '{"text":%s}' if vaccine is None else literal(vaccine.vaccine_code)
    maker, target, series = ("", "", "") if vaccine is None else (vaccine.manufacturer, vaccine.target, vaccine.series)
    # timed: the local time, then the same instant in UTC cut from the stored text; else the slot's day
    when = f'"occurrenceDateTime":"%s{suffix}","recorded":"%.19sZ",' if shape.timed else '"occurrenceDateTime":"%s",'
    lot = '"lotNumber":%s,"expirationDate":"%s",' if shape.lot_and_expiry else "%s%s"
    return (
        '{"resourceType":"Immunization","id":"%d","identifier":[{"system":"'
        + literal(fhir.SYSTEM)
        + ':reservation","value":"%d"}],"status":"completed","vaccineCode":'
        + code
        + ',"patient":{"reference":"Patient/%s"},'
        + when
        + '"primarySource":true,'
        + literal(maker)
        + lot
        + literal(shape.site)
        + literal(shape.route)
        + '"location":{"display":%s},"protocolApplied":[{'
        + literal(target)
        + '"doseNumberPositiveInt":%d'
        + literal(series)
        + "}]}\n"
    )
