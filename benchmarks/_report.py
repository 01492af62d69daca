"""Shared by the benchmark scripts: timing helpers and writing a section of docs/benchmarks.md."""

import platform
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks.md"


def wall_times(cmd: list[str], runs: int, env: dict | None = None) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        times.append(time.perf_counter() - start)
    return times


def compile_installed() -> None:
    """Give the environment its bytecode, as `pip install` does at install time.

    These machines set PYTHONDONTWRITEBYTECODE=1 and `uv sync` does not compile by default, so
    without this every measured process would compile SQLAlchemy, pydantic, Typer and Rich from
    source (about 0.6 s of each `vaxres` start-up), which no installed copy of vaxres pays.
    Already compiled files are skipped.
    """
    import compileall
    import sysconfig

    for folder in (sysconfig.get_paths()["purelib"], str(ROOT / "vaxres")):
        compileall.compile_dir(folder, quiet=1, workers=0)


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> str:
    import os

    return (
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"
    )


def write_section(name: str, body: str) -> None:
    """Replace the section between <!-- name:start --> and <!-- name:end --> (or append it)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text)
