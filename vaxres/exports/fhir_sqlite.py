"""Immunizations made whole by SQLite (issue 24's speed goal): each line is one text that
SQLite's printf-free concatenation and json_quote() build in C, the way a plain CSV's rows are
joined by the database (exports/query.py), so Python only joins batches of bytes.

Used on SQLite when the store's time zone keeps one offset (Asia/Seoul, UTC: no daylight saving
since 1990), where the offset is a constant; otherwise exports/fhir.py builds each line in Python.
Both make the same resources (tests/test_fhir.py compares them line by line); a person's id that
is not already a FHIR id goes through fhir.resource_id, registered as an SQL function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from vaxres.exports import fhir
from vaxres.exports.query import Sql

FHIR_ID_FUNCTION = "vaxres_fhir_id"


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


def statement(sql: Sql, where: str, vaccines: dict[str, fhir.Vaccine], offset: int) -> str:
    """SELECT (line, coded) for each dose given: the Immunization as exports/fhir.py writes it.
    `vaccines`: by the key of their name (slot.vaccine_key).

    Each line is one printf whose format holds all that is constant for its vaccine (codes,
    manufacturer, protocol, the zone's offset), chosen by a CASE on the slot's vaccine key: a
    vaccine costs a row nothing but a comparison, and the row's own values are the only
    arguments (a function call or a `||` is a copy and an allocation each)."""
    p = sql.param
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    suffix = "Z" if offset == 0 else f"{sign}{hours:02d}:{minutes:02d}"
    # GLOB and length() stop at a NUL, the byte count does not
    plain = (
        "length(r.user_id) BETWEEN 1 AND 64 AND length(CAST(r.user_id AS BLOB)) = length(r.user_id)"
        " AND r.user_id NOT GLOB '*[^-A-Za-z0-9]*'"
    )
    # given: YYYY-MM-DD HH:MM:SS.ffffff in UTC; local: datetime()'s YYYY-MM-DD HH:MM:SS, shifted
    local = f"replace(datetime(r.administered_at, {p('fhir_shift', f'{offset:+d} seconds')}), ' ', 'T')"
    arguments = [
        "r.id",
        "r.id",
        f"CASE WHEN {plain} THEN r.user_id ELSE {FHIR_ID_FUNCTION}(r.user_id) END",
        f"coalesce({local}, s.date)",  # a dose recorded without its time: the slot's day
        "replace(r.administered_at, ' ', 'T')",
        """CASE WHEN r.lot IS NOT NULL THEN '"lotNumber":' || json_quote(r.lot) || ',' END""",
        """'"expirationDate":"' || r.lot_expires || '",'""",  # NULL, printed as nothing, without one
        f"CASE r.site {_when(p, 's', fhir.SITE_PARTS)} END",
        f"CASE r.route {_when(p, 'r', fhir.ROUTE_PARTS)} END",
        "json_quote(s.hospital)",
        "r.dose",
    ]
    # a vaccine the catalog lacks: its name as the slot has it, in vaccineCode after the ids
    uncoded = [*arguments[:2], "json_quote(s.vaccine)", *arguments[2:]]

    def line(vaccine: fhir.Vaccine | None, timed: bool) -> str:
        return _format(vaccine, suffix if timed else None)

    branches = []
    for timed in (True, False):
        cases = " ".join(
            f"WHEN {p(f'v{n}', key)} THEN printf({p(f'f{n}{timed:d}', line(v, timed))}, {', '.join(arguments)})"
            for n, (key, v) in enumerate(vaccines.items())
        )
        other = f"printf({p(f'fu{timed:d}', line(None, timed))}, {', '.join(uncoded)})"
        branches.append(f"CASE s.vaccine_key {cases} ELSE {other} END" if cases else other)
    made = f"CASE WHEN r.administered_at IS NULL THEN {branches[1]} ELSE {branches[0]} END"
    coded = [p(f"v{n}", key) for n, (key, v) in enumerate(vaccines.items()) if v.coded]
    is_coded = f"s.vaccine_key IN ({', '.join(coded)})" if coded else "0"
    return (
        f"SELECT {made}, {is_coded} FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id{where} ORDER BY r.id"
    )


def _when(p: Any, prefix: str, parts: dict[str, str]) -> str:
    return " ".join(f"WHEN {p(f'{prefix}{n}', k)} THEN {p(f'{prefix}p{n}', v)}" for n, (k, v) in enumerate(parts.items()))


def _format(vaccine: fhir.Vaccine | None, suffix: str | None) -> str:
    """The printf format of a vaccine's lines (None: one the catalog lacks, its text an
    argument); `suffix`: the zone's offset, or None for a dose recorded with its day only."""

    def literal(text: str) -> str:
        return text.replace("%", "%%")

    code = '{"text":%s}' if vaccine is None else literal(vaccine.vaccine_code)
    maker, target, series = ("", "", "") if vaccine is None else (vaccine.manufacturer, vaccine.target, vaccine.series)
    # timed: the local time, then the same instant in UTC cut from the stored text; day only: the
    # slot's day, and the stored time (NULL) printed as nothing
    when = f'"occurrenceDateTime":"%s{suffix}","recorded":"%.19sZ",' if suffix else '"occurrenceDateTime":"%s",%.0s'
    return (
        '{"resourceType":"Immunization","id":"%d","identifier":[{"system":"'
        + literal(fhir.SYSTEM)
        + ':reservation","value":"%d"}],"status":"completed","vaccineCode":'
        + code
        + ',"patient":{"reference":"Patient/%s"},'
        + when
        + '"primarySource":true,'
        + literal(maker)
        + '%s%s%s%s"location":{"display":%s},"protocolApplied":[{'
        + literal(target)
        + '"doseNumberPositiveInt":%d'
        + literal(series)
        + "}]}\n"
    )
