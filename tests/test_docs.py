"""The command reference in docs/cli.md is generated from the app; this fails when it is stale."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = [
    str(Path(sys.executable).with_name("typer")),
    "vaxres.cli",
    "utils",
    "docs",
    "--name",
    "vaxres",
    "--title",
    "vaxres command reference",
]


def test_cli_reference_is_up_to_date(tmp_path):
    fresh = tmp_path / "cli.md"
    subprocess.run([*REGENERATE, "--output", str(fresh)], check=True, capture_output=True, cwd=ROOT)
    assert (ROOT / "docs" / "cli.md").read_text() == fresh.read_text(), (
        "docs/cli.md is stale: run `uv run typer vaxres.cli utils docs --name vaxres "
        "--title 'vaxres command reference' --output docs/cli.md`"
    )


def test_readme_and_guide_name_every_exit_code():
    for page in (ROOT / "README.md", ROOT / "docs" / "index.md"):
        text = page.read_text()
        for code in ("| 0 ", "| 1 ", "| 2 ", "| 3 ", "| 75 "):
            assert code in text, f"{page.name} lacks the exit code row {code.strip()}"


def test_api_reference_is_up_to_date():
    fresh = subprocess.run(
        [sys.executable, "-m", "vaxres.api.reference"], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    assert (ROOT / "docs" / "api.md").read_text() == fresh, (
        "docs/api.md is stale: run `uv run python -m vaxres.api.reference > docs/api.md`"
    )
