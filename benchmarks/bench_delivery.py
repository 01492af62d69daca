"""Delivery speed goal (issue 4): 10,000 pending messages to a webhook on 127.0.0.1 that answers
204 at once, at least 1,000 messages/s, beside the same receiver's rate for a bare loop of
httpx POSTs (the ceiling) in the same run.

Run: uv run python benchmarks/bench_delivery.py [--messages N]
(writes the delivery section of docs/benchmarks.md)
"""

import asyncio
import datetime as dt
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import compile_installed, machine, write_section  # noqa: E402

VAXRES = str(Path(sys.executable).with_name("vaxres"))
MESSAGES = int(sys.argv[sys.argv.index("--messages") + 1]) if "--messages" in sys.argv else 10_000


def receiver(port_queue) -> None:
    """A minimal keep-alive HTTP/1.1 server that answers every POST with 204 at once."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionResetError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_queue.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def seed(db: Path, count: int) -> None:
    """Pending confirmations for distinct people, as `vaxres reserve` would leave them."""
    import sqlite3

    subprocess.run([VAXRES, "--db", str(db), "db", "upgrade"], check=True, capture_output=True)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO outbox (event, recipient, payload, correlation_id, created_at, status, attempts, next_attempt_at)"
            " VALUES ('ReservationConfirmed', ?, ?, ?, ?, 'pending', 0, ?)",
            [
                (
                    f"person{n}",
                    json.dumps(
                        {"reservation_id": n, "user": f"person{n}", "message": f"Your reservation {n} is confirmed."}
                    ),
                    n,
                    now,
                    now,
                )
                for n in range(1, count + 1)
            ],
        )


def bare_loop(url: str, count: int) -> float:
    import httpx

    body = json.dumps({"id": 1, "event": "ReservationConfirmed", "payload": {"message": "x" * 120}}).encode()
    with httpx.Client() as client:
        start = time.perf_counter()
        for n in range(count):
            client.post(url, content=body, headers={"content-type": "application/json", "webhook-id": f"msg_{n}"})
        return count / (time.perf_counter() - start)


def main() -> None:
    compile_installed()
    ports = multiprocessing.Queue()
    server = multiprocessing.Process(target=receiver, args=(ports,), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=10)}/hook"
    try:
        ceiling = bare_loop(url, min(MESSAGES, 5000))
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "vaxres.db"
            seed(db, MESSAGES)
            start = time.perf_counter()
            result = subprocess.run(
                [VAXRES, "--db", str(db), "outbox", "deliver", "--to", url, "--json"], capture_output=True, text=True
            )
            elapsed = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(result.stderr)
            delivered = json.loads(result.stdout)["delivered"]
        startup = min(
            _time([VAXRES, "--db", str(Path(tmp) / "empty.db"), "outbox", "list", "--json"]) for _ in range(3)
        )
    finally:
        server.terminate()
    rate = delivered / elapsed
    body = f"""
## Notification delivery (issue 4)

Measured {dt.date.today().isoformat()} on {machine()} by `uv run python benchmarks/bench_delivery.py`:
{MESSAGES:,} pending messages to a keep-alive webhook on 127.0.0.1 (a separate process that answers
204 at once).

| goal | vaxres | ceiling in the same run | verdict |
|---|---|---|---|
| at least 1,000 messages/s | {rate:,.0f} messages/s ({delivered:,} in {elapsed:.1f} s, the whole `vaxres outbox deliver` process) | bare loop of httpx POSTs on one keep-alive connection: {ceiling:,.0f}/s | {"met" if rate >= 1000 else "**missed**"} |

The process time includes about {startup:.1f} s of interpreter and library start-up. vaxres sends
on 2 keep-alive connections (`--workers`, the default; recipients in parallel, each recipient's
messages in id order) and records outcomes with one executemany per claimed batch of 500. More
workers do not help against a local target on 2 cores (the GIL); they help with distant ones.
"""
    print(body)
    write_section("delivery", body)


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
