"""A person as the registry hands one out: plain values and the JSON shape (part of the
interface). A resident registration number appears only masked (`id_masked`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from vaxres.formats import iso_utc


@dataclass(frozen=True)
class PersonRecord:
    id: str
    name: str | None
    birth_date: dt.date | None
    sex: str | None
    phone: str | None
    email: str | None
    lang: str | None
    guardian: str | None
    groups: tuple[str, ...]
    id_masked: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    forgotten_at: dt.datetime | None

    @property
    def masked_birth_date(self) -> str | None:
        """As a person's own page shows it: the year and month."""
        return None if self.birth_date is None else f"{self.birth_date:%Y-%m}-**"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "birth_date": None if self.birth_date is None else self.birth_date.isoformat(),
            "sex": self.sex,
            "phone": self.phone,
            "email": self.email,
            "lang": self.lang,
            "guardian": self.guardian,
            "groups": list(self.groups),
            "rrn": self.id_masked,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "forgotten_at": None if self.forgotten_at is None else iso_utc(self.forgotten_at),
        }
