"""What a command imports decides how fast it starts; these pin the expensive imports out."""

import subprocess
import sys

from tests.helpers import future, run_vaxres

PROBE = """
import sys
sys.argv = ["vaxres", *{args!r}]
from vaxres.cli import main
try:
    main()
except SystemExit:
    pass
print(sorted(m for m in {modules!r} if m in sys.modules), file=sys.stderr)
"""


def loaded(*args: str, modules=("sqlalchemy", "alembic", "rich", "sqlmodel")) -> list[str]:
    probe = PROBE.format(args=list(args), modules=list(modules))
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    return eval(result.stderr.strip().splitlines()[-1])


def test_help_imports_no_sqlalchemy_alembic_or_rich():
    assert loaded("--help") == []
    assert loaded("reserve", "--help") == []


def test_only_serve_loads_the_web_stack():
    web = ("fastapi", "uvicorn", "starlette")
    assert loaded("--help", modules=web) == []
    assert loaded("serve", "--help", modules=web) == []
    assert loaded("token", "list", modules=web) == []


def test_reserve_on_a_current_store_does_not_import_alembic():
    assert (
        run_vaxres(
            "slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "3"
        ).returncode
        == 0
    )
    assert "alembic" not in loaded("reserve", "--user", "a", "--slot", "1")
    assert "rich" not in loaded("reserve", "--user", "b", "--slot", "1")


def test_a_sqlite_command_does_not_load_postgresql_support():
    assert (
        run_vaxres(
            "slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "3"
        ).returncode
        == 0
    )
    assert loaded("reserve", "--user", "a", "--slot", "1", modules=("sqlalchemy.dialects.postgresql",)) == []


def test_store_commands_load_neither_sqlmodel_nor_the_orm():
    """The tables are SQLAlchemy Core: SQLModel's classes cost 80 ms of every start (pydantic's
    model machinery and sqlalchemy.orm), for nothing the commands use."""
    assert (
        run_vaxres(
            "slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssen", "--quantity", "3"
        ).returncode
        == 0
    )
    heavy = ("sqlmodel", "sqlalchemy.orm")
    assert loaded("reserve", "--user", "a", "--slot", "1", modules=heavy) == []
    assert loaded("mypage", "a", modules=heavy) == []
    assert loaded("slot", "list", modules=heavy) == []


def test_a_command_builds_only_itself_and_finds_every_command():
    import typer

    from vaxres import cli

    every = typer.main.get_command(cli.build_app()).commands
    assert set(every) == set(cli.COMMANDS) | set(cli.GROUPS)  # a new command must be listed to be found
    for name in every:
        built = set(typer.main.get_command(cli.build_app(name)).commands)
        assert name in built and len(built) <= 4  # itself, and the commands its module registers with it
    assert cli.invoked_command(["--db", "x.db", "--actor", "desk", "reserve", "--user", "a"]) == "reserve"
    assert cli.invoked_command(["--db=x.db", "slot", "list"]) == "slot"
    assert cli.invoked_command(["--help"]) is None
    assert cli.invoked_command(["--version"]) is None
    assert cli.invoked_command([]) is None
    assert cli.invoked_command(["nosuch"]) == "nosuch"  # the whole app is built, and says no such command


def test_the_lean_app_answers_as_the_whole_one():
    listed = run_vaxres("--db", "x.db", "mypage", "--help")
    assert listed.returncode == 0 and "Show a person's reservations" in listed.stdout
    unknown = run_vaxres("nosuch")
    assert (unknown.returncode, unknown.stderr) == (2, "Error: no such command 'nosuch'; see `vaxres --help`\n")
    assert "Commands:" in run_vaxres("--help").stdout and "export" in run_vaxres("--help").stdout


def test_the_confusables_data_loads_only_when_a_name_is_checked(tmp_path):
    """confusable_homoglyphs reads 0.9 MB of JSON: not for --help, nor for a known vaccine (slot add,
    import), only for a new name or one the catalog does not have."""
    modules = ("confusable_homoglyphs",)
    assert loaded("--help", modules=modules) == loaded("vaccine", "add", "--help", modules=modules) == []
    assert (
        loaded(
            "slot",
            "add",
            "--date",
            future(),
            "--hospital",
            "H",
            "--vaccine",
            "Janssen",
            "--quantity",
            "3",
            modules=modules,
        )
        == []
    )
    plan = tmp_path / "plan.csv"
    plan.write_text(f"date,hospital,vaccine,quantity\n{future()},H,Pfizer,3\n{future()},I,화이자,3\n", encoding="utf-8")
    assert loaded("import", "slots", str(plan), modules=modules) == []
    assert loaded(
        "slot", "add", "--date", future(), "--hospital", "H", "--vaccine", "Janssem", "--quantity", "3", modules=modules
    ) == list(modules)
    assert loaded("vaccine", "add", "Sputnik", "--doses", "1", modules=modules) == list(modules)
