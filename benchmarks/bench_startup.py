"""Start-up goals (issue 19), whole processes against a baseline in the same run.

1. Every store command (`reserve`, `mypage`, `slot list` on a small store) at most 1.15x
   `python -c "import sqlmodel, typer"` (the bare import of the stack).
2. `vaxres --help` at most 0.1 s.

Baseline and commands run interleaved (round after round), so the machine's noise hits both
alike; the table shows medians.

Run: uv run --group bench python benchmarks/bench_startup.py [--quick]   (writes the startup section of docs/benchmarks.md)
"""

import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, median, wall_times, write_section  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
QUICK = "--quick" in sys.argv
ROUNDS = 7 if QUICK else 21
DAY = (dt.date.today() + dt.timedelta(days=30)).isoformat()
BASELINE = [sys.executable, "-c", "import sqlmodel, typer"]
GOAL = 1.15
HELP_GOAL = 0.1


def small_store(folder: Path) -> dict:
    env = {**os.environ, "VAXRES_DB": str(folder / "small.db")}
    for n in range(20):
        day = (dt.date.today() + dt.timedelta(days=30 + n)).isoformat()
        subprocess.run(
            [
                VAXRES,
                "slot",
                "add",
                "--date",
                day,
                "--hospital",
                f"Hospital {n % 4}",
                "--vaccine",
                "Janssen",
                "--quantity",
                "100000",
            ],
            check=True,
            env=env,
            capture_output=True,
        )
    subprocess.run([VAXRES, "reserve", "--user", "u1", "--slot", "1"], check=True, env=env, capture_output=True)
    return env


def main() -> None:
    compile_installed()
    times: dict[str, list[float]] = {"baseline": [], "help": [], "reserve": [], "mypage": [], "slot list": []}
    with tempfile.TemporaryDirectory() as folder:
        env = small_store(Path(folder))
        for n in range(ROUNDS):
            times["baseline"] += wall_times(BASELINE, 1)
            times["help"] += wall_times([VAXRES, "--help"], 1)
            times["reserve"] += wall_times(
                [VAXRES, "reserve", "--user", f"p{n}", "--slot", str(2 + n % 19)], 1, env=env
            )
            times["mypage"] += wall_times([VAXRES, "mypage", "u1"], 1, env=env)
            times["slot list"] += wall_times([VAXRES, "slot", "list"], 1, env=env)
    medians = {name: median(values) for name, values in times.items()}
    base = medians["baseline"]
    rows = []
    for command in ("reserve", "mypage", "slot list"):
        ratio = medians[command] / base
        verdict = "met" if ratio <= GOAL else "**missed**"
        rows.append(
            f"| `vaxres {command}` at most {GOAL}x the bare import | {medians[command]:.3f} s | {base:.3f} s | {ratio:.2f}x, {verdict} |"
        )
    help_verdict = "met" if medians["help"] <= HELP_GOAL else "**missed**"
    rows.append(f"| `vaxres --help` at most {HELP_GOAL} s | {medians['help']:.3f} s | — | {help_verdict} |")
    body = (
        f"""## Start-up (issue 19)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run --group bench python benchmarks/bench_startup.py`{" --quick" if QUICK else ""}.
Whole processes, {ROUNDS} rounds of baseline and commands interleaved, medians; the baseline is
`python -c "import sqlmodel, typer"`; the store holds 20 slots.

| goal | measured | baseline in the same run | verdict |
|---|---|---|---|
"""
        + "\n".join(rows)
        + "\n"
    )
    print(body)
    write_section("startup", body)


if __name__ == "__main__":
    main()
