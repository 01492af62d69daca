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
    `vaccines`: by the key of their name (slot.vaccine_key)."""
    p = sql.param
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    suffix = "Z" if offset == 0 else f"{sign}{hours:02d}:{minutes:02d}"
    shift = p("fhir_shift", f"{offset:+d} seconds")
    occurrence = f"strftime('%Y-%m-%dT%H:%M:%S', r.administered_at, {shift}) || {p('fhir_suffix', suffix)}"
    rows = ", ".join(
        f"({p(f'v{n}', name)}, {p(f'vc{n}', v.vaccine_code)}, {p(f'vt{n}', v.target)}, {p(f'vs{n}', v.series)}, "
        f"{p(f'vm{n}', v.manufacturer)}, {int(v.coded)})"
        for n, (name, v) in enumerate(vaccines.items())
    )
    catalog = (
        f"WITH fv(name, code, target, series, maker, coded) AS (VALUES {rows})"
        if rows
        else ("WITH fv(name, code, target, series, maker, coded) AS (SELECT NULL, NULL, NULL, NULL, NULL, 0 WHERE 0)")
    )
    site = " ".join(f"WHEN {p(f's{n}', k)} THEN {p(f'sp{n}', v)}" for n, (k, v) in enumerate(fhir.SITE_PARTS.items()))
    route = " ".join(f"WHEN {p(f'r{n}', k)} THEN {p(f'rp{n}', v)}" for n, (k, v) in enumerate(fhir.ROUTE_PARTS.items()))
    plain = "length(r.user_id) <= 64 AND r.user_id NOT GLOB '*[^-A-Za-z0-9]*'"
    # One printf: SQLite builds each line in one buffer (a chain of || copies it at every step).
    pieces = [
        (
            '{"resourceType":"Immunization","id":"%d","identifier":[{"system":"'
            + fhir.SYSTEM
            + ':reservation","value":"%d"}],'
            '"status":"completed","vaccineCode":%s,"patient":{"reference":"Patient/%s"},"occurrenceDateTime":"%s",%s'
            '"primarySource":true,%s%s%s%s%s"location":{"display":%s},"protocolApplied":[{%s"doseNumberPositiveInt":%d%s}]}\n'
        ),
    ]
    arguments = [
        "r.id",
        "r.id",
        """coalesce(fv.code, '{"text":' || json_quote(s.vaccine) || '}')""",
        f"CASE WHEN {plain} THEN r.user_id ELSE {FHIR_ID_FUNCTION}(r.user_id) END",
        f"CASE WHEN r.administered_at IS NULL THEN s.date ELSE {occurrence} END",
        # recorded: the same instant in UTC, cut from the stored text (YYYY-MM-DD HH:MM:SS.ffffff)
        """CASE WHEN r.administered_at IS NULL THEN '' ELSE '"recorded":"' || substr(r.administered_at, 1, 10) || 'T'
           || substr(r.administered_at, 12, 8) || 'Z",' END""",
        "coalesce(fv.maker, '')",
        """CASE WHEN r.lot IS NULL THEN '' ELSE '"lotNumber":' || json_quote(r.lot) || ',' END""",
        """CASE WHEN r.lot_expires IS NULL THEN '' ELSE '"expirationDate":"' || r.lot_expires || '",' END""",
        f"CASE r.site {site} ELSE '' END",
        f"CASE r.route {route} ELSE '' END",
        "json_quote(s.hospital)",
        "coalesce(fv.target, '')",
        "r.dose",
        "coalesce(fv.series, '')",
    ]
    line = f"printf({p('fhir_line', pieces[0])}, {', '.join(arguments)})"
    return (
        f"{catalog} SELECT {line}, coalesce(fv.coded, 0) FROM reservation AS r JOIN slot AS s ON s.id = r.slot_id "
        f"LEFT JOIN fv ON fv.name = s.vaccine_key{where} ORDER BY r.id"
    )
