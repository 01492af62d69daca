"""`vaxres publish scheduling-links` (issue 24): the slots from today on as SMART Scheduling Links,
a `$bulk-publish` manifest and Location, Schedule and Slot ndjson files a web server serves as
they are (https://github.com/smart-on-fhir/smart-scheduling-links).

Readers never see half a publication: DIR is a symbolic link to a sibling folder named after the
digest of its files; a new publication is written whole into a temporary folder beside it,
renamed to its digest's name, and the link is replaced at once (a rename). The same data gives
the same files, byte for byte, and the same folder: transactionTime is the store's latest change
(its newest outbox message: every change writes one), never the clock. The folder before the
last is removed, so a reader that began with the previous manifest finishes with its files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Connection, func, select

from vaxres import validate
from vaxres.db.store import Store
from vaxres.db.tables import outbox_table, slot_table, vaccine_table
from vaxres.errors import InvalidInput
from vaxres.exports import fhir
from vaxres.files import OutputFailed

MANIFEST = "$bulk-publish"
FILES = {"Location": "locations.ndjson", "Schedule": "schedules.ndjson", "Slot": "slots.ndjson"}
REGISTRY = "http://fhir-registry.smarthealthit.org"
COVID_SERVICE = {
    "system": f"{REGISTRY}/CodeSystem/service-type",
    "code": "covid19-immunization",
    "display": "COVID-19 Immunization Appointment",
}
EPOCH = "1970-01-01T00:00:00Z"
COVID_19 = "840539006"
slot = slot_table.c


@dataclass(frozen=True)
class PublishOptions:
    output: Path
    base_url: str
    booking_url: str | None = None
    booking_phone: str | None = None

    @classmethod
    def parse(cls, *, output: str, base_url: str, booking_url: str | None = None, booking_phone: str | None = None):
        if not str(output).strip():
            raise InvalidInput("--output needs a folder to publish into")
        phone = None if booking_phone is None else validate.normalize_name(booking_phone, field="--booking-phone")
        return cls(
            Path(output),
            _url("--base-url", base_url).rstrip("/"),
            booking_url and _url("--booking-url", booking_url),
            phone,
        )


def _url(option: str, value: str) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() or not c.isprintable() for c in text)
    ):
        raise InvalidInput(f"{option} must be an http:// or https:// URL without spaces, got {value!r}")
    return text


@dataclass(frozen=True)
class Publication:
    folder: Path  # where DIR points
    changed: bool  # False: the same files were already published
    locations: int
    schedules: int
    slots: int
    transaction_time: str


def location_id(hospital_key: str) -> str:
    return "h" + hashlib.sha256(hospital_key.encode("utf-8")).hexdigest()[:20]


def schedule_id(hospital_key: str, vaccine_key: str) -> str:
    return "s" + hashlib.sha256(f"{hospital_key}\x1f{vaccine_key}".encode()).hexdigest()[:20]


def publish(store: Store, options: PublishOptions) -> Publication:
    link = options.output.absolute()
    _check_link(link)
    clock = fhir.LocalTime(store.zone)
    today = store.today()
    folder = Path(tempfile.mkdtemp(dir=link.parent, prefix=f".{link.name}.", suffix=".part"))
    try:
        os.chmod(folder, 0o755)  # published to the world: no personal data in it
        digest = hashlib.sha256()
        with store.read() as conn:
            when = _transaction_time(conn)
            counts = _write_files(conn, folder, options, clock, today, digest)
        manifest = _manifest(options, when)
        _write(folder / MANIFEST, [manifest], digest)
        final = link.parent / f".{link.name}.{digest.hexdigest()[:20]}"
        changed = not final.is_dir()
        if changed:
            os.rename(folder, final)
        else:
            shutil.rmtree(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _point(link, final)
    return Publication(final, changed, *counts, when)


def _check_link(link: Path) -> None:
    if not link.parent.is_dir():
        raise InvalidInput(f"the folder {link.parent} does not exist; create it or name another --output")
    if link.is_symlink():
        if os.path.dirname(os.readlink(link)) or not os.readlink(link).startswith(f".{link.name}."):
            raise InvalidInput(
                f"--output {link} is a link vaxres did not make (to {os.readlink(link)}); name a new path"
            )
        return
    if not link.exists():
        return
    if link.is_dir() and not any(link.iterdir()):
        return  # an empty folder made for us: the link takes its place
    raise InvalidInput(
        f"--output {link} exists and is not a vaxres publication (a link vaxres made); name a new path or an empty folder"
    )


def _point(link: Path, final: Path) -> None:
    """DIR now names `final`, at once; the folder it named before stays (a reader may be inside
    it); older ones go."""
    previous = os.readlink(link) if link.is_symlink() else None
    temporary = link.parent / f".{link.name}.link{os.getpid()}"
    with suppress(FileNotFoundError):
        temporary.unlink()
    temporary.symlink_to(final.name)
    if link.is_dir() and not link.is_symlink():
        link.rmdir()
    os.replace(temporary, link)
    keep = {final.name, previous}
    for old in link.parent.glob(f".{link.name}.*"):
        if old.name not in keep and old.is_dir() and not old.is_symlink() and not old.name.endswith(".part"):
            shutil.rmtree(old, ignore_errors=True)


def _transaction_time(conn: Connection) -> str:
    latest = conn.execute(select(func.max(outbox_table.c.created_at))).scalar()
    if latest is None:
        latest = conn.execute(select(func.max(slot.updated_at))).scalar()
    if latest is None:
        return EPOCH
    if isinstance(latest, str):  # max() over SQLite text skips the column's type
        latest = dt.datetime.fromisoformat(latest)
    if latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.UTC)
    return latest.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _manifest(options: PublishOptions, when: str) -> str:
    outputs = [{"type": kind, "url": f"{options.base_url}/{name}"} for kind, name in FILES.items()]
    manifest = {"transactionTime": when, "request": f"{options.base_url}/{MANIFEST}", "output": outputs, "error": []}
    return fhir.encode(manifest) + "\n"


def _write(path: Path, chunks: list[str] | Iterator[str], digest) -> None:
    try:
        with open(path, "wb") as out:
            os.fchmod(out.fileno(), 0o644)
            digest.update(path.name.encode() + b"\0")
            for chunk in chunks:
                data = chunk.encode("utf-8")
                digest.update(data)
                out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise OutputFailed(f"cannot write {path}: {exc.strerror or exc}; nothing was published") from None


def _write_files(
    conn: Connection, folder: Path, options: PublishOptions, clock, today: dt.date, digest
) -> tuple[int, int, int]:
    upcoming = slot.date >= today
    pairs = conn.execute(
        select(slot.hospital_key, func.min(slot.hospital), slot.vaccine_key, func.min(slot.vaccine))
        .where(upcoming)
        .group_by(slot.hospital_key, slot.vaccine_key)
        .order_by(slot.hospital_key, slot.vaccine_key)
    ).all()
    hospitals = dict((key, name) for key, name, _, _ in pairs)
    _write(folder / FILES["Location"], (location(key, name, options) for key, name in hospitals.items()), digest)
    catalog = {row.name_key: row for row in conn.execute(select(vaccine_table))}
    _write(folder / FILES["Schedule"], (schedule(p, catalog.get(p[2])) for p in pairs), digest)
    rows = conn.execution_options(stream_results=True, yield_per=1000).execute(
        select(slot.id, slot.date, slot.hospital_key, slot.vaccine_key, slot.remaining)
        .where(upcoming)
        .order_by(slot.id)
    )
    count = [0]

    def slots() -> Iterator[str]:
        for row in rows:
            count[0] += 1
            yield slot_line(row, options, clock)

    _write(folder / FILES["Slot"], slots(), digest)
    return len(hospitals), len(pairs), count[0]


def location(key: str, name: str, options: PublishOptions) -> str:
    telecom = []
    if options.booking_phone:
        telecom.append({"system": "phone", "value": options.booking_phone})
    if options.booking_url:
        telecom.append({"system": "url", "value": options.booking_url})
    resource: dict[str, Any] = {
        "resourceType": "Location",
        "id": location_id(key),
        "identifier": [{"system": f"{fhir.SYSTEM}:hospital", "value": name}],
        "name": name,
    }
    if telecom:
        resource["telecom"] = telecom
    return fhir.encode(resource) + "\n"


def schedule(pair, vaccine) -> str:
    hospital_key, _, vaccine_key, vaccine_name = pair
    resource: dict = {"resourceType": "Schedule", "id": schedule_id(hospital_key, vaccine_key)}
    extensions: list[dict[str, Any]] = []
    if vaccine is not None and vaccine.cvx:
        coding = {"system": fhir.CVX, "code": vaccine.cvx, "display": vaccine_name}
        extensions.append({"url": f"{REGISTRY}/StructureDefinition/vaccine-product", "valueCoding": coding})
    for dose in range(1, (vaccine.doses if vaccine is not None else 1) + 1):
        extensions.append({"url": f"{REGISTRY}/StructureDefinition/vaccine-dose", "valueInteger": dose})
    resource["extension"] = extensions
    # The COVID-19 coding only for a vaccine against it (SNOMED CT 840539006), as the test kit reads it.
    covid = vaccine is not None and vaccine.target_disease == COVID_19
    codings = [fhir.IMMUNIZATION_SERVICE, COVID_SERVICE] if covid else [fhir.IMMUNIZATION_SERVICE]
    resource["serviceType"] = [{"coding": codings, "text": vaccine_name}]
    resource["actor"] = [{"reference": f"Location/{location_id(hospital_key)}"}]
    return fhir.encode(resource) + "\n"


def slot_line(row, options: PublishOptions, clock) -> str:
    extensions: list[dict] = [{"url": f"{REGISTRY}/StructureDefinition/slot-capacity", "valueInteger": row.remaining}]
    if options.booking_url:
        extensions.append(
            {
                "url": f"{REGISTRY}/StructureDefinition/booking-deep-link",
                "valueUrl": deep_link(options.booking_url, row.id),
            }
        )
    if options.booking_phone:
        extensions.append(
            {"url": f"{REGISTRY}/StructureDefinition/booking-phone", "valueString": options.booking_phone}
        )
    resource: dict[str, Any] = {
        "resourceType": "Slot",
        "id": str(row.id),
        "extension": extensions,
        "schedule": {"reference": f"Schedule/{schedule_id(row.hospital_key, row.vaccine_key)}"},
        "status": "free" if row.remaining > 0 else "busy",
        "start": clock.day_start(row.date),
        "end": clock.day_start(row.date + dt.timedelta(days=1)),
    }
    return fhir.encode(resource) + "\n"


def deep_link(url: str, slot_id: int) -> str:
    """The booking URL with slot=ID added to its query (a URL may have a query already)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("slot", str(slot_id))]
    return urlunsplit(parts._replace(query=urlencode(query)))
