"""/v1/vaccines and /v1/windows: the catalog and the eligibility windows, as `vaxres vaccine` and
`vaxres window` (booking/vaccines.py, booking/windows.py). Reading takes a reader's token;
a change takes an admin's."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import Field

from vaxres.api.bookings import Body
from vaxres.api.edge import Admin, Reader
from vaxres.api.problems import responses
from vaxres.api.render import json_response
from vaxres.booking.codes import SYSTEMS

router = APIRouter(prefix="/v1", responses=responses(401, 403, 404, 409, 422, 503))
VaccineName = Annotated[str, Path(description="The vaccine's name or an alias (any case).")]
WindowName = Annotated[str, Path(description="The window's name, e.g. 18-49.")]


class VaccineCodes(Body):
    """A vaccine's codes as `vaccine show --json` gives them, each checked for its system's form
    by the rules `vaccine add --cvx ...` uses (booking/codes.py): a bad one is 422 invalid_code."""

    cvx: str | None = Field(None, description=SYSTEMS["cvx"].help)
    snomed: str | None = Field(None, description=SYSTEMS["snomed"].help)
    atc: str | None = Field(None, description=SYSTEMS["atc"].help)
    eu_product: str | None = Field(None, description=SYSTEMS["eu_product"].help)
    eu_holder: str | None = Field(None, description=SYSTEMS["eu_holder"].help)
    mvx: str | None = Field(None, description=SYSTEMS["mvx"].help)
    target_disease: str | None = Field(None, description=SYSTEMS["target_disease"].help)


def no_codes() -> VaccineCodes:
    """The codes of a body that names none (validated: mypy reads VaccineCodes() as missing its fields)."""
    return VaccineCodes.model_validate({})


class NewVaccine(Body):
    name: str
    doses: int = Field(description="Doses in the primary series, 1 to 10.")
    min_interval: int | None = Field(None, description="Days at least between two doses (needed past one dose).")
    aliases: list[str] = Field([], description="Other names it is booked by.")
    codes: VaccineCodes = Field(default_factory=no_codes, description="Its codes, those known.")


class VaccineChange(Body):
    doses: int | None = Field(None, description="The new series length; not below doses people hold.")
    min_interval: int | None = Field(None, description="The new least days between two doses.")
    aliases: list[str] = Field([], description="Aliases to add (the ones it has stay).")
    codes: VaccineCodes = Field(
        default_factory=no_codes, description='Codes to set ("" clears one); the ones not named stay.'
    )


class NewWindow(Body):
    name: str = Field(description="The window's name, e.g. 18-49.")
    vaccine: str = Field(description="The vaccine it opens (name or alias).")
    opens: str = Field(description="When it opens, YYYY-MM-DD HH:MM in the store's time zone.")
    dose: int | None = Field(None, description="Only this dose of the series (default: every dose).")
    born_from: str | None = Field(None, description="Only people born on this day or later, YYYY-MM-DD.")
    born_to: str | None = Field(None, description="Only people born on this day or earlier, YYYY-MM-DD.")
    age_min: int | None = Field(None, description="Only people this old or older on age_on.")
    age_max: int | None = Field(None, description="Only people this old or younger on age_on.")
    age_on: str | None = Field(None, description="The day ages are counted on (default: the opening day).")
    groups: list[str] = Field([], description="Only people in any of these groups.")
    closes: str | None = Field(None, description="When it closes, YYYY-MM-DD HH:MM (default: never).")
    rotation: str | None = Field(None, description="birth-digit: day d admits birthdays ending in d; needs each.")
    each: str | None = Field(None, description="A rotation's daily window, HH:MM-HH:MM.")


class Closing(Body):
    at: str | None = Field(None, description="When it closes, YYYY-MM-DD HH:MM (default: now).")


@router.get("/vaccines", summary="The vaccine catalog (as `vaccine list`)")
def list_vaccines(call: Reader) -> Any:
    from vaxres.booking.vaccines import list_vaccines

    return json_response([vaccine.as_json() for vaccine in list_vaccines(call.store)])


@router.post("/vaccines", status_code=201, summary="Add a vaccine to the catalog (as `vaccine add`)")
def add_vaccine(call: Admin, body: NewVaccine) -> Any:
    from vaxres.booking.vaccines import add_vaccine

    given = body.model_dump(exclude={"name", "codes"})
    codes = body.codes.model_dump()
    return call.run(201, body, lambda store: add_vaccine(store, body.name, **given, code_values=codes).as_json())


@router.patch("/vaccines/{name}", summary="Change a vaccine's series or codes, or add aliases (as `vaccine update`)")
def update_vaccine(call: Admin, name: VaccineName, body: VaccineChange) -> Any:
    from vaxres.booking.vaccines import update_vaccine

    given = body.model_dump(exclude={"codes"})
    codes = body.codes.model_dump()
    return call.run(200, body, lambda store: update_vaccine(store, name, **given, code_values=codes).as_json())


@router.get("/windows", summary="The eligibility windows (as `window list`)")
def list_windows(call: Reader) -> Any:
    from vaxres.booking.windows import list_windows

    return json_response([window.as_json() for window in list_windows(call.store)])


@router.get("/windows/{name}", summary="One eligibility window (as `window show`)")
def show_window(call: Reader, name: WindowName) -> Any:
    from vaxres.booking.windows import show_window

    return json_response(show_window(call.store, name).as_json())


@router.post("/windows", status_code=201, summary="Open an eligibility window (as `window add`)")
def add_window(call: Admin, body: NewWindow) -> Any:
    from vaxres.booking.windows import add_window

    given = body.model_dump(exclude={"name"})
    return call.run(201, body, lambda store: add_window(store, body.name, **given).as_json())


@router.post("/windows/{name}/close", summary="Close a window; the bookings it admitted stay (as `window close`)")
def close_window(call: Admin, name: WindowName, body: Closing | None = None) -> Any:
    from vaxres.booking.windows import close_window

    at = None if body is None else body.at
    return call.run(200, body, lambda store: close_window(store, name, at=at).as_json())
