"""vaxres person add | update | show | list | find | forget"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line, print_table

app = typer.Typer(
    help="The people bookings are for: contacts, birth dates, guardians. A resident registration "
    "number is kept only as a keyed fingerprint and shown masked (900512-1******).",
    no_args_is_help=True,
)

Id = Annotated[str, typer.Argument(metavar="ID", help="The person's id: what --user takes.")]
Name = Annotated[str | None, typer.Option("--name", metavar="TEXT", help="Full name.")]
Rrn = Annotated[
    str | None,
    typer.Option(
        "--rrn",
        metavar="YYMMDD-GNNNNNN",
        help="Resident registration number: gives the birth date and sex; stored only as a fingerprint "
        "under the identity key ($VAXRES_ID_KEY, else a key file in the user data folder).",
    ),
]
BirthDate = Annotated[str | None, typer.Option("--birth-date", metavar="YYYY-MM-DD", help="Birth date.")]
Sex = Annotated[str | None, typer.Option("--sex", metavar="M|F", help="Sex, when no --rrn gives it.")]
Phone = Annotated[
    str | None, typer.Option("--phone", metavar="NUMBER", help="Phone number, stored in E.164 (+821012345678).")
]
Region = Annotated[
    str, typer.Option("--region", metavar="CC", help="Country a phone number without + is read in (default KR).")
]
Email = Annotated[str | None, typer.Option("--email", metavar="ADDRESS", help="E-mail address.")]
Lang = Annotated[str | None, typer.Option("--lang", metavar="ko|en", help="Language of the person's messages.")]
Guardian = Annotated[
    str | None, typer.Option("--guardian", metavar="ID", help="A registered adult who receives copies of messages.")
]
Groups = Annotated[
    list[str] | None, typer.Option("--group", metavar="NAME", help="A group the person belongs to (repeat for more).")
]


@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    person: Id,
    name: Name = None,
    rrn: Rrn = None,
    birth_date: BirthDate = None,
    sex: Sex = None,
    phone: Phone = None,
    region: Region = "KR",
    email: Email = None,
    lang: Lang = None,
    guardian: Guardian = None,
    group: Groups = None,
    json_out: JsonOption = False,
) -> None:
    """Register a person."""
    from vaxres.people.registry import add_person

    added = add_person(
        open_store(ctx, create=True),
        person,
        name=name,
        rrn=rrn,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
        region=region,
        email=email,
        lang=lang,
        guardian=guardian,
        groups=group,
    )
    _show(added, json_out, f"Registered {added.id}.")


@app.command("update")
@handles_errors
def update(
    ctx: typer.Context,
    person: Id,
    name: Name = None,
    rrn: Rrn = None,
    birth_date: BirthDate = None,
    sex: Sex = None,
    phone: Phone = None,
    region: Region = "KR",
    email: Email = None,
    lang: Lang = None,
    guardian: Guardian = None,
    group: Annotated[
        list[str] | None, typer.Option("--group", metavar="NAME", help="The person's groups, all of them (repeat).")
    ] = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            metavar="FIELD",
            help="Empty a field: name, birth-date, sex, phone, email, lang, guardian, groups, rrn (repeat).",
        ),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Change what is registered of a person."""
    from vaxres.people.registry import update_person

    changed = update_person(
        open_store(ctx, create=False),
        person,
        name=name,
        rrn=rrn,
        birth_date=birth_date,
        sex=sex,
        phone=phone,
        region=region,
        email=email,
        lang=lang,
        guardian=guardian,
        groups=group,
        clear=clear or (),
    )
    _show(changed, json_out, f"Updated {changed.id}.")


@app.command("show")
@handles_errors
def show(ctx: typer.Context, person: Id, json_out: JsonOption = False) -> None:
    """Show what is registered of a person."""
    from vaxres.people.registry import get_person

    _show(get_person(open_store(ctx, create=False), person), json_out, None)


@app.command("find")
@handles_errors
def find(
    ctx: typer.Context,
    rrn: Annotated[str, typer.Option("--rrn", metavar="YYMMDD-GNNNNNN", help="The number to look for.")],
    json_out: JsonOption = False,
) -> None:
    """Find the person a resident registration number is registered to."""
    from vaxres.people.registry import find_by_rrn

    _show(find_by_rrn(open_store(ctx, create=False), rrn), json_out, None)


@app.command("list")
@handles_errors
def list_(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", metavar="TEXT", help="Only people whose id or name contains this.")
    ] = None,
    after: Annotated[str | None, typer.Option("--after", metavar="ID", help="Start after this id.")] = None,
    limit: Annotated[str, typer.Option("--limit", metavar="N", help="Show at most N people (default 50).")] = "50",
    json_out: JsonOption = False,
) -> None:
    """List people in id order."""
    from vaxres.people.registry import person_page

    page = person_page(open_store(ctx, create=False), search=search, limit=limit, after=after)
    if json_out:
        print_json({"people": [person.as_json() for person in page.rows], "total": page.total})
        return
    if not page.rows:
        print_line("No people registered match." if search else "No people registered.")
        return
    print_table(
        None,
        ["id", "name", "born", "phone", "email", "lang"],
        [(p.id, p.name, p.birth_date, p.phone, p.email, p.lang) for p in page.rows],
    )
    if page.more:
        print_line(f"Showing {len(page.rows):,} of {page.total:,}; use --after {page.next_after} for more.")


@app.command("forget")
@handles_errors
def forget(ctx: typer.Context, person: Id, json_out: JsonOption = False) -> None:
    """Erase a person's personal data; the id and its bookings stay, for the statistics.

    Refused while the person holds a booking of today or later. Their citizen sessions end and
    their login codes are spent.
    """
    from vaxres.people.registry import forget_person

    _show(forget_person(open_store(ctx, create=False), person), json_out, None)


@app.command("eligibility")
@handles_errors
def eligibility(ctx: typer.Context, person: Id, json_out: JsonOption = False) -> None:
    """Which eligibility windows match the person, which are open to them now, when the next opens.

    A vaccine no window names is open to everyone, and is not listed.
    """
    from vaxres.booking.windows import person_eligibility

    found = person_eligibility(open_store(ctx), person)
    if json_out:
        print_json(found.as_json())
        return
    if not found.verdicts:
        print_line("No eligibility windows: every vaccine is open to everyone.")
        return
    matches = {True: "yes", False: "no", None: "birth date needed"}
    rows = [
        (
            v.window.name,
            v.window.vaccine if v.window.dose is None else f"{v.window.vaccine} (dose {v.window.dose})",
            matches[v.matches],
            _now_or_next(v),
        )
        for v in found.verdicts
    ]
    zone = found.verdicts[0].window.zone.key
    print_table(
        f"Eligibility of {found.person} at {found.at:%Y-%m-%d %H:%M} ({zone})",
        ["Window", "Vaccine", "Matches", "Now / next opening"],
        rows,
    )


def _now_or_next(verdict) -> str:
    if verdict.matches is not True:
        return "—"
    if verdict.open_now:
        return "open now"
    if verdict.next_opening is None:
        return "closed"
    from vaxres.cli.render import minute

    return minute(verdict.next_opening, verdict.window.zone)


def _show(person, json_out: bool, headline: str | None) -> None:
    if json_out:
        print_json(person.as_json())
        return
    if headline:
        print_line(headline)
    if person.forgotten_at is not None:
        print_line(f"{person.id}: personal data erased {person.forgotten_at:%Y-%m-%d %H:%M} UTC.")
        return
    born = None if person.birth_date is None else person.birth_date.isoformat()
    rows = [
        ("id", person.id),
        ("name", person.name),
        ("birth date", born),
        ("sex", person.sex),
        ("resident number", person.id_masked),
        ("phone", person.phone),
        ("e-mail", person.email),
        ("language", person.lang),
        ("guardian", person.guardian),
        ("groups", ", ".join(person.groups) or None),
    ]
    print_table(None, ["field", "value"], [(label, value) for label, value in rows if value is not None], compact=True)
