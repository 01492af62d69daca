"""FHIR R4 resources as JSON text (issue 24): Immunization, Patient, Appointment, and the pieces
scheduling-links (exports/scheduling.py) shares with them.

Built as plain text from pre-encoded pieces rather than through a FHIR model library: an export
of a million doses makes a million resources, and every value a person typed (names, lots, ids)
passes through the JSON encoder's string escaping (`text`), so whatever it holds stays one valid
JSON string. tests/test_fhir.py validates every line with fhir.resources' R4B models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

text = json.encoder.encode_basestring  # a str as a JSON string literal, quotes included, in C
encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

SYSTEM = "urn:vaxres"  # identifiers: f"{SYSTEM}:{kind}" with the store's own id as the value
CVX = "http://hl7.org/fhir/sid/cvx"
SNOMED = "http://snomed.info/sct"
ATC = "http://www.whocc.no/atc"
MVX = "http://hl7.org/fhir/sid/mvx"
SERVICE_TYPE = "http://terminology.hl7.org/CodeSystem/service-type"
ACT_SITE = "http://terminology.hl7.org/CodeSystem/v3-ActSite"
ROUTE = "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration"
SITES = {"left-arm": ("LA", "left arm"), "right-arm": ("RA", "right arm")}
ROUTES = {
    "im": ("IM", "Injection, intramuscular"),
    "sc": ("SQ", "Injection, subcutaneous"),
    "id": ("IDINJ", "Injection, intradermal"),
}
SITE_PARTS = {
    site: f'"site":{{"coding":[{{"system":"{ACT_SITE}","code":"{code}","display":"{display}"}}]}},'
    for site, (code, display) in SITES.items()
}
ROUTE_PARTS = {
    route: f'"route":{{"coding":[{{"system":"{ROUTE}","code":"{code}","display":"{display}"}}]}},'
    for route, (code, display) in ROUTES.items()
}
IMMUNIZATION_SERVICE = {"system": SERVICE_TYPE, "code": "57", "display": "Immunization"}
_PLAIN_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def resource_id(value: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) for a vaxres id: itself when it already is one (without a
    dot), else 'x.' and a hash of it, which no id of the first kind can equal."""
    if _PLAIN_ID.fullmatch(value):
        return value
    return "x." + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]


def identifier(kind: str, value: str) -> str:
    return f'{{"system":"{SYSTEM}:{kind}","value":{text(value)}}}'


class LocalTime:
    """UTC instants (YYYY-MM-DDTHH:MM:SSZ) as the store's local time with its offset, the way a
    FHIR dateTime carries them. Worked out once per UTC hour when the offset is whole hours (a
    change of offset then falls on an hour too), else once per minute (+05:30, +05:45); at most
    CACHED of either kept."""

    CACHED = 100_000

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._hours: dict[str, tuple[str, str] | None] = {}
        self._minutes: dict[str, tuple[str, str]] = {}

    def of(self, utc: str) -> str:
        prefix = utc[:13]
        hour = self._hours[prefix] if prefix in self._hours else self._hour(prefix)
        if hour is not None:
            return f"{hour[0]}{utc[13:19]}{hour[1]}"
        minute = self._minutes.get(utc[:16])
        if minute is None:
            if len(self._minutes) >= self.CACHED:
                self._minutes.clear()
            local = dt.datetime.fromisoformat(utc[:16] + ":00+00:00").astimezone(self.zone)
            minute = self._minutes[utc[:16]] = (local.strftime("%Y-%m-%dT%H:%M"), _offset(local))
        return f"{minute[0]}{utc[16:19]}{minute[1]}"

    def _hour(self, prefix: str) -> tuple[str, str] | None:
        if len(self._hours) >= self.CACHED:
            self._hours.clear()
        local = dt.datetime.fromisoformat(prefix + ":00:00+00:00").astimezone(self.zone)
        offset = local.utcoffset()
        whole = offset is not None and offset.total_seconds() % 3600 == 0
        found = self._hours[prefix] = (local.strftime("%Y-%m-%dT%H"), _offset(local)) if whole else None
        return found

    def day_start(self, day: dt.date) -> str:
        """The first instant of a day in the store's zone."""
        local = dt.datetime.combine(day, dt.time(), self.zone)
        return local.strftime("%Y-%m-%dT%H:%M:%S") + _offset(local)


def _offset(moment: dt.datetime) -> str:
    text_ = moment.strftime("%z")  # +0900
    return "Z" if text_ in ("+0000", "") else f"{text_[:3]}:{text_[3:]}"


@dataclass(frozen=True)
class Vaccine:
    """A catalog vaccine's pre-encoded pieces: vaccineCode, the protocol's target disease and
    series length, the manufacturer; `coded`: it has a CVX, SNOMED CT or ATC code."""

    vaccine_code: str
    target: str  # "targetDisease":[...], or nothing
    series: str  # ,"seriesDosesPositiveInt":N
    manufacturer: str
    coded: bool
    cvx: str | None

    @classmethod
    def of(cls, name: str, doses: int | None, codes: dict[str, str]) -> Vaccine:
        codings = [
            {"system": system, "code": codes[field]}
            for field, system in (("cvx", CVX), ("snomed", SNOMED), ("atc", ATC))
            if codes.get(field)
        ]
        concept = {"coding": codings, "text": name} if codings else {"text": name}
        target = ""
        if codes.get("target_disease"):
            target = f'"targetDisease":[{encode({"coding": [{"system": SNOMED, "code": codes["target_disease"]}]})}],'
        series = f',"seriesDosesPositiveInt":{int(doses)}' if doses else ""
        manufacturer = ""
        if codes.get("mvx"):
            manufacturer = f'"manufacturer":{encode({"identifier": {"system": MVX, "value": codes["mvx"]}})},'
        return cls(encode(concept), target, series, manufacturer, bool(codings), codes.get("cvx"))


def immunization(row: tuple, vaccine: Vaccine, clock: LocalTime, *, day_only: bool = False) -> str:
    """One dose given: row = (reservation id, user, dose, administered_at UTC text, lot,
    lot expiry YYYY-MM-DD, site, route, hospital, ...). `day_only`: the fourth value is the day
    (YYYY-MM-DD) of a dose recorded without its time."""
    rid, user, dose, given, lot, expires, site, route, hospital = row[:9]
    when = given if day_only else clock.of(given)
    recorded = "" if day_only else f'"recorded":"{given}",'  # the same instant, in UTC
    lot_part = "" if lot is None else f'"lotNumber":{text(lot)},'
    expiry_part = "" if expires is None else f'"expirationDate":"{expires}",'
    extra = f"{lot_part}{expiry_part}{SITE_PARTS.get(site, '')}{ROUTE_PARTS.get(route, '')}"
    return (
        f'{{"resourceType":"Immunization","id":"{rid}","identifier":[{{"system":"{SYSTEM}:reservation","value":"{rid}"}}],'
        f'"status":"completed","vaccineCode":{vaccine.vaccine_code},'
        f'"patient":{{"reference":"Patient/{resource_id(user)}"}},"occurrenceDateTime":"{when}",{recorded}'
        f'"primarySource":true,{vaccine.manufacturer}{extra}"location":{{"display":{text(hospital)}}},'
        f'"protocolApplied":[{{{vaccine.target}"doseNumberPositiveInt":{int(dose)}{vaccine.series}}}]}}\n'
    )


GENDERS = {"M": "male", "F": "female"}


def patient(row: tuple) -> str:
    """A person: row = (id, name, birth_date YYYY-MM-DD, sex, phone, email, lang, forgotten).
    Never a resident registration number, not even its masked form."""
    pid, name, born, sex, phone, email, lang, forgotten = row
    parts = [f'"resourceType":"Patient","id":"{resource_id(pid)}","identifier":[{identifier("person", pid)}]']
    if forgotten:
        parts.append('"active":false')
    if name is not None:
        parts.append(f'"name":[{{"text":{text(name)}}}]')
    telecom = [f'{{"system":"phone","value":{text(phone)}}}'] if phone else []
    if email:
        telecom.append(f'{{"system":"email","value":{text(email)}}}')
    if telecom:
        parts.append(f'"telecom":[{",".join(telecom)}]')
    if sex in GENDERS:
        parts.append(f'"gender":"{GENDERS[sex]}"')
    if born is not None:
        parts.append(f'"birthDate":"{born}"')
    if lang:
        parts.append(
            f'"communication":[{{"language":{{"coding":[{{"system":"urn:ietf:bcp:47","code":{text(lang)}}}]}}}}]'
        )
    return "{" + ",".join(parts) + "}\n"


# reservation status -> Appointment.status
APPOINTMENT_STATUS = {"reserved": "booked", "administered": "fulfilled", "cancelled": "cancelled", "no_show": "noshow"}


def appointment(row: tuple, clock: LocalTime) -> str:
    """A booking or a waitlist entry: row = (kind 'r'|'w', id, user, dose, status, day, last day,
    hospital, vaccine, slot id, created UTC text)."""
    kind, number, user, dose, status, day, last, hospital, vaccine, slot_id, created = row
    participants = [f'{{"actor":{{"reference":"Patient/{resource_id(user)}"}},"status":"accepted"}}']
    if hospital is not None:
        participants.append(f'{{"actor":{{"display":{text(hospital)}}},"status":"accepted"}}')
    service = encode([{"coding": [IMMUNIZATION_SERVICE], "text": vaccine}])
    head = (
        f'{{"resourceType":"Appointment","id":"{kind}{number}",'
        f'"identifier":[{identifier("reservation" if kind == "r" else "waitlist", str(number))}],'
    )
    description = f'"description":{text(f"{vaccine}, dose {dose}")},"serviceType":{service},'
    if kind == "w":
        period = {"start": clock.day_start(dt.date.fromisoformat(day))}
        if last is not None:
            period["end"] = clock.day_start(dt.date.fromisoformat(last) + dt.timedelta(days=1))
        timing = f'"requestedPeriod":[{encode(period)}],'
        state = "waitlist"
    else:
        start = dt.date.fromisoformat(day)
        timing = f'"start":"{clock.day_start(start)}","end":"{clock.day_start(start + dt.timedelta(days=1))}",'
        timing += f'"slot":[{{"reference":"Slot/{slot_id}"}}],'
        state = APPOINTMENT_STATUS[status]
    return (
        f'{head}"status":"{state}",{description}{timing}"created":"{clock.of(created)}",'
        f'"participant":[{",".join(participants)}]}}\n'
    )


def lines(resources: Iterable[str]) -> bytes:
    return "".join(resources).encode("utf-8")
