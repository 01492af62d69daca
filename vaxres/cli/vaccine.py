"""vaxres vaccine list | add | update"""

from typing import Annotated

import typer

from vaxres.booking.codes import SYSTEMS
from vaxres.cli import render
from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line

app = typer.Typer(help="The vaccine catalog: names, aliases, dose series and codes.", no_args_is_help=True)

AliasOption = Annotated[
    list[str] | None, typer.Option("--alias", metavar="ALIAS", help="Another name for it (repeat for more).")
]
IntervalOption = Annotated[
    str | None,
    typer.Option("--min-interval", metavar="DAYS", help="Least days between two doses (needed for 2 doses or more)."),
]


# The codes' options, described as the code systems describe themselves (booking/codes.py).
CvxOption = Annotated[str | None, typer.Option(SYSTEMS["cvx"].option, metavar="CODE", help=SYSTEMS["cvx"].help)]
SnomedOption = Annotated[
    str | None, typer.Option(SYSTEMS["snomed"].option, metavar="SCTID", help=SYSTEMS["snomed"].help)
]
AtcOption = Annotated[str | None, typer.Option(SYSTEMS["atc"].option, metavar="CODE", help=SYSTEMS["atc"].help)]
EuProductOption = Annotated[
    str | None, typer.Option(SYSTEMS["eu_product"].option, metavar="EU/1/YY/NNNN", help=SYSTEMS["eu_product"].help)
]
EuHolderOption = Annotated[
    str | None, typer.Option(SYSTEMS["eu_holder"].option, metavar="ORG-N", help=SYSTEMS["eu_holder"].help)
]
MvxOption = Annotated[str | None, typer.Option(SYSTEMS["mvx"].option, metavar="CODE", help=SYSTEMS["mvx"].help)]
TargetOption = Annotated[
    str | None, typer.Option(SYSTEMS["target_disease"].option, metavar="SCTID", help=SYSTEMS["target_disease"].help)
]


def _codes(cvx, snomed, atc, eu_product, eu_holder, mvx, target_disease) -> dict[str, str | None]:
    return dict(
        cvx=cvx, snomed=snomed, atc=atc, eu_product=eu_product, eu_holder=eu_holder, mvx=mvx,
        target_disease=target_disease,
    )  # fmt: skip


@app.command("list")
@handles_errors
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the vaccines slots may name, with their aliases and series."""
    from vaxres.booking.vaccines import list_vaccines

    vaccines = list_vaccines(open_store(ctx))
    if json_out:
        print_json([v.as_json() for v in vaccines])
    elif not vaccines:
        print_line("The catalog is empty; add a vaccine with `vaxres vaccine add NAME --doses N`.")
    else:
        render.vaccines_table(vaccines)


@app.command("show")
@handles_errors
def show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The vaccine, by name or alias.")],
    json_out: JsonOption = False,
) -> None:
    """Show one vaccine: its series, aliases and every code it has."""
    from vaxres.booking.vaccines import show_vaccine

    found = show_vaccine(open_store(ctx), name)
    if json_out:
        print_json(found.as_json())
    else:
        print_line(render.vaccine_details(found))


@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The vaccine's name, as slots will show it.")],
    doses: Annotated[str, typer.Option("--doses", metavar="N", help="Doses in the primary series, 1 to 10.")],
    min_interval: IntervalOption = None,
    alias: AliasOption = None,
    cvx: CvxOption = None,
    snomed: SnomedOption = None,
    atc: AtcOption = None,
    eu_product: EuProductOption = None,
    eu_holder: EuHolderOption = None,
    mvx: MvxOption = None,
    target_disease: TargetOption = None,
    json_out: JsonOption = False,
) -> None:
    """Add a vaccine to the catalog, with its codes if known (each checked for its system's form)."""
    from vaxres.booking.vaccines import add_vaccine

    given = _codes(cvx, snomed, atc, eu_product, eu_holder, mvx, target_disease)
    added = add_vaccine(
        open_store(ctx, create=True),
        name,
        doses=doses,
        min_interval=min_interval,
        aliases=alias or [],
        code_values=given,
    )
    if json_out:
        print_json(added.as_json())
    else:
        print_line(f"Added {render.vaccine_line(added)}")


@app.command("update")
@handles_errors
def update(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The vaccine, by name or alias.")],
    doses: Annotated[
        str | None, typer.Option("--doses", metavar="N", help="Doses in the primary series, 1 to 10.")
    ] = None,
    min_interval: IntervalOption = None,
    alias: AliasOption = None,
    cvx: CvxOption = None,
    snomed: SnomedOption = None,
    atc: AtcOption = None,
    eu_product: EuProductOption = None,
    eu_holder: EuHolderOption = None,
    mvx: MvxOption = None,
    target_disease: TargetOption = None,
    json_out: JsonOption = False,
) -> None:
    """Change a vaccine's series or codes (--cvx '' clears one), or add aliases (the ones it has stay)."""
    from vaxres.booking.vaccines import update_vaccine

    given = _codes(cvx, snomed, atc, eu_product, eu_holder, mvx, target_disease)
    changed = update_vaccine(
        open_store(ctx, create=True),
        name,
        doses=doses,
        min_interval=min_interval,
        aliases=alias or [],
        code_values=given,
    )
    if json_out:
        print_json(changed.as_json())
    else:
        print_line(f"Updated {render.vaccine_line(changed)}")
