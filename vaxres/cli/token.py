"""vaxres token add | list | revoke"""

from typing import Annotated

import typer

from vaxres.cli.common import JsonOption, open_store
from vaxres.cli.output import handles_errors, print_json, print_line, print_table

app = typer.Typer(
    help="Tokens for `vaxres serve`: who may call the API, in which role. Only a token's hash is kept.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(metavar="NAME", help="Who holds it: the actor its changes are recorded by.")]


@app.command("add")
@handles_errors
def add(
    ctx: typer.Context,
    name: Name,
    role: Annotated[
        str,
        typer.Option(
            "--role",
            metavar="reader|operator|admin",
            help="reader: read; operator: also book, cancel, wait, administer, register people; admin: also slots.",
        ),
    ],
    json_out: JsonOption = False,
) -> None:
    """Make a token and print it once: it is not kept, only its hash."""
    from vaxres.access.tokens import add_token

    made = add_token(open_store(ctx, create=True), name, role=role)
    if json_out:
        print_json(made.as_json())
        return
    print_line(made.token)
    print_line(
        f"Token {made.record.name!r} ({made.record.role}) made; it is shown only now: "
        f"send it as `Authorization: Bearer TOKEN`.",
        to_stderr=True,
    )


@app.command("list")
@handles_errors
def list_(ctx: typer.Context, json_out: JsonOption = False) -> None:
    """List the tokens (never the tokens themselves)."""
    from vaxres.access.tokens import list_tokens

    tokens = list_tokens(open_store(ctx))
    if json_out:
        print_json([token.as_json() for token in tokens])
    elif not tokens:
        print_line("No tokens.")
    else:
        rows = [(t.name, t.role, t.as_json()["created_at"], t.created_by, t.as_json()["revoked_at"]) for t in tokens]
        print_table(None, ["Name", "Role", "Created", "By", "Revoked"], rows)


@app.command("revoke")
@handles_errors
def revoke(ctx: typer.Context, name: Name, json_out: JsonOption = False) -> None:
    """Revoke a token: refused from the next request on."""
    from vaxres.access.tokens import revoke_token

    revoked = revoke_token(open_store(ctx), name)
    if json_out:
        print_json(revoked.as_json())
    else:
        print_line(f"Token {revoked.name!r} revoked.")
