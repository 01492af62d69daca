"""The citizen flow under test: a person registered, a code asked for, read from the file a real
`outbox deliver` wrote (what the person's phone would show), and traded for a session."""

import json
from pathlib import Path

from tests.helpers import Cli

BORN = "1990-05-12"


def register(store, person: str = "kim", **given) -> None:
    from vaxres.people.registry import add_person

    add_person(store, person, **({"birth_date": BORN, "phone": "010-1234-5678", "lang": "ko"} | given))


def delivered_codes(folder: Path) -> dict[str, str]:
    """Run `vaxres outbox deliver --to FILE` and read each person's last code from the file."""
    target = folder / "delivered.jsonl"
    result = Cli()("outbox", "deliver", "--to", str(target))
    assert result.exit_code == 0, result.stderr
    codes = {}
    for line in target.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message["event"] == "CitizenCode":
            codes[message["recipient"]] = message["payload"]["code"]
    return codes


def log_in(client, folder: Path, person: str = "kim", born: str = BORN) -> dict[str, str]:
    """The Authorization header of a new session for `person`."""
    assert client.post("/v1/citizen/login", json={"person": person, "birth_date": born}).status_code == 202
    code = delivered_codes(folder)[person]
    answer = client.post("/v1/citizen/verify", json={"person": person, "code": code})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}
