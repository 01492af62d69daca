"""`vaxres publish scheduling-links` (issue 24): the publication served over 127.0.0.1 and read back
with httpx, checked as the SMART Scheduling Links test kit (inferno-framework/smart-scheduling-links-
test-kit) checks it: the manifest's URL, fields and instant, its outputs' types and URLs, each line
a resource (validated with fhir.resources' R4B models), the Schedules' service types and CVX
coding, the Slots' status; and the swap: the same data gives the same files, a failure midway
leaves the previous publication, a prune of the newest messages an earlier transactionTime, on both
backends."""

import datetime as dt
import functools
import http.server
import json
import re
import threading
from urllib.parse import urlsplit

import httpx
import pytest
import time_machine
from fhir.resources.R4B.location import Location
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot

pytestmark = pytest.mark.usefixtures("backend")

REGISTRY = "http://fhir-registry.smarthealthit.org"
# The test kit's INSTANT_REGEX (manifest_group.rb).
INSTANT = re.compile(
    r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3])"
    r":[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)
MODELS = {"Location": Location, "Schedule": Schedule, "Slot": Slot}
NOW = dt.datetime(2027, 4, 1, 1, 0, tzinfo=dt.UTC)
HOSTILE = '"Quote" \\ 병원 <script>'


@pytest.fixture
def served(tmp_path):
    """tmp_path/www served by http.server on 127.0.0.1 in a thread; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slots(cli):
    assert cli("db", "set-timezone", "Asia/Seoul").exit_code == 0
    made = {}
    with time_machine.travel(NOW - dt.timedelta(days=1), tick=False):
        made["past"] = cli.json("slot", "add", "--date", "2027-03-31", "--hospital", "Seoul", "--vaccine", "Pfizer",
                                "--quantity", "3")["id"]  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        cli("vaccine", "add", "Flu", "--doses", "1", "--cvx", "150")
        for name, (date, hospital, vaccine, quantity) in {
            "free": ("2027-04-01", HOSTILE, "Pfizer", 2),
            "full": ("2027-04-02", HOSTILE, "Pfizer", 1),
            "other": ("2027-04-02", "Busan", "Janssen", 4),
            "flu": ("2027-04-03", "Busan", "Flu", 1),
        }.items():
            made[name] = cli.json(
                "slot", "add", "--date", date, "--hospital", hospital, "--vaccine", vaccine, "--quantity", str(quantity)
            )["id"]
        cli.json("reserve", "--user", "kim", "--slot", str(made["full"]))
    return made


def publish(cli, root, base, *extra):
    with time_machine.travel(NOW, tick=False):
        return cli(
            "publish", "scheduling-links", "--output", str(root / "slots"), "--base-url", f"{base}/slots", *extra
        )


def read(base) -> dict:
    """The publication as the test kit reads it, every check applied; resources by type."""
    url = f"{base}/slots/$bulk-publish"
    assert url.endswith("$bulk-publish")
    with httpx.Client() as client:
        answer = client.get(url, headers={"Accept": "application/json"})
        assert answer.status_code == 200
        manifest = answer.json()
        assert isinstance(manifest, dict)
        assert isinstance(manifest["transactionTime"], str) and isinstance(manifest["request"], str)
        assert isinstance(manifest["output"], list)
        assert INSTANT.fullmatch(manifest["transactionTime"])
        assert manifest["request"] == url and urlsplit(manifest["request"]).scheme == "http"
        found: dict[str, list[dict]] = {"Location": [], "Schedule": [], "Slot": []}
        for output in manifest["output"]:
            assert set(output) == {"type", "url"} and output["type"] in found
            assert urlsplit(output["url"]).scheme in ("http", "https") and " " not in output["url"]
            body = client.get(output["url"], headers={"Accept": "application/fhir+ndjson"})
            assert body.status_code == 200
            for line in body.text.splitlines():
                resource = json.loads(line)
                assert resource["resourceType"] == output["type"]
                MODELS[output["type"]].model_validate(resource)
                assert re.fullmatch(r"[A-Za-z0-9_.]{1,64}", resource["id"])  # the spec's ids
                found[output["type"]].append(resource)
    return {"manifest": manifest, **found}


def check_links(found: dict) -> None:
    locations = {f"Location/{r['id']}": r for r in found["Location"]}
    schedules = {f"Schedule/{r['id']}": r for r in found["Schedule"]}
    for location in locations.values():
        for telecom in location.get("telecom", []):
            assert telecom["system"] in ("phone", "url")
            assert "@" not in telecom["value"] if telecom["system"] == "phone" else " " not in telecom["value"]
    for schedule in schedules.values():
        assert len(schedule["actor"]) == 1 and schedule["actor"][0]["reference"] in locations
        codings = [(c["system"], c["code"]) for c in schedule["serviceType"][0]["coding"]]
        assert ("http://terminology.hl7.org/CodeSystem/service-type", "57") in codings
        for extension in schedule["extension"]:
            if extension["url"] == f"{REGISTRY}/StructureDefinition/vaccine-product":
                assert extension["valueCoding"]["system"] == "http://hl7.org/fhir/sid/cvx"
    for slot in found["Slot"]:
        assert slot["status"] in ("free", "busy")
        assert slot["schedule"]["reference"] in schedules
        assert INSTANT.fullmatch(slot["start"]) and INSTANT.fullmatch(slot["end"])


def test_the_publication_passes_the_test_kits_checks(cli, served, slots):
    root, base = served
    result = publish(cli, root, base, "--booking-url", "https://book.example/go?from=finder", "--booking-phone", "1339")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Published 2 locations, 3 schedules, 4 slots to ")
    found = read(base)
    check_links(found)
    assert [r["name"] for r in found["Location"]].count(HOSTILE) == 1
    slots_by_id = {int(r["id"]): r for r in found["Slot"]}
    assert slots["past"] not in slots_by_id  # 2027-03-31 is over in Seoul
    free, full = slots_by_id[slots["free"]], slots_by_id[slots["full"]]
    assert (free["status"], full["status"]) == ("free", "busy")
    assert (free["start"], free["end"]) == ("2027-04-01T00:00:00+09:00", "2027-04-02T00:00:00+09:00")
    extensions = {e["url"].rsplit("/", 1)[1]: e for e in free["extension"]}
    assert extensions["slot-capacity"]["valueInteger"] == 2
    assert extensions["booking-deep-link"]["valueUrl"] == f"https://book.example/go?from=finder&slot={slots['free']}"
    assert extensions["booking-phone"]["valueString"] == "1339"
    schedules = {s["serviceType"][0]["text"]: s for s in found["Schedule"] if s["actor"]}
    pfizer = next(s for s in found["Schedule"] if s["serviceType"][0]["text"] == "Pfizer")
    product = [e["valueCoding"] for e in pfizer["extension"] if e["url"].endswith("vaccine-product")]
    assert product == [{"system": "http://hl7.org/fhir/sid/cvx", "code": "208", "display": "Pfizer"}]
    assert [e["valueInteger"] for e in pfizer["extension"] if e["url"].endswith("vaccine-dose")] == [1, 2]
    assert "covid19-immunization" in [c["code"] for c in pfizer["serviceType"][0]["coding"]]
    assert [c["code"] for c in schedules["Flu"]["serviceType"][0]["coding"]] == ["57"]  # not a COVID-19 vaccine


def test_the_same_data_publishes_the_same_bytes_and_a_change_swaps_it_whole(cli, served, slots, monkeypatch):
    root, base = served
    link = root / "slots"
    assert publish(cli, root, base).exit_code == 0
    first = {p.name: p.read_bytes() for p in link.iterdir()}
    first_folder = link.resolve()
    again = publish(cli, root, base)
    assert again.stdout == f"Nothing changed: {link} already holds these 2 locations, 3 schedules, 4 slots.\n"
    assert {p.name: p.read_bytes() for p in link.iterdir()} == first and link.resolve() == first_folder
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        cli.json("reserve", "--user", "lee", "--slot", str(slots["free"]))
    before = read(base)["manifest"]["transactionTime"]
    assert publish(cli, root, base).exit_code == 0
    found = read(base)
    assert found["manifest"]["transactionTime"] == "2027-04-01T01:05:00Z" != before
    free = next(s for s in found["Slot"] if s["id"] == str(slots["free"]))
    assert free["extension"][0]["valueInteger"] == 1
    assert first_folder.is_dir()  # kept for a reader that began with the previous manifest
    second_folder = link.resolve()

    # A publication that fails midway leaves the last one in place, and no temporary folder.
    import vaxres.exports.scheduling as scheduling

    def broken(row, options, clock):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scheduling, "slot_line", broken)
    with time_machine.travel(NOW + dt.timedelta(minutes=9), tick=False):
        cli.json("reserve", "--user", "park", "--slot", str(slots["other"]))
    failed = publish(cli, root, base)
    assert failed.exit_code == 75 and failed.stderr.startswith("Error: cannot write ")
    assert failed.stderr.endswith("slots.ndjson: No space left on device; nothing was published\n")
    assert link.resolve() == second_folder and read(base)["manifest"]["transactionTime"] == "2027-04-01T01:05:00Z"
    assert [p.name for p in root.iterdir() if p.name.endswith(".part")] == []


@pytest.mark.parametrize(
    "options, message",
    [
        (("--base-url", "ftp://x/y"), "Error: --base-url must be an http:// or https:// URL without spaces, got 'ftp://x/y'\n"),
        (("--base-url", "https://x/a b"), "Error: --base-url must be an http:// or https:// URL without spaces, got 'https://x/a b'\n"),
        (("--base-url", "https://x", "--booking-url", "javascript:alert(1)"),
         "Error: --booking-url must be an http:// or https:// URL without spaces, got 'javascript:alert(1)'\n"),
    ],
)  # fmt: skip
def test_bad_urls_are_invalid(cli, tmp_path, options, message):
    result = cli("publish", "scheduling-links", "--output", str(tmp_path / "out"), *options)
    assert (result.exit_code, result.stderr) == (2, message)
    assert [p.name for p in tmp_path.iterdir() if "out" in p.name] == []


def test_a_folder_that_is_not_a_publication_is_left_alone(cli, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.html").write_text("hello")
    result = cli("publish", "scheduling-links", "--output", str(mine), "--base-url", "https://x")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: --output {mine} exists and is not a vaxres publication (a link vaxres made); "
        f"name a new path or an empty folder\n"
    )
    assert [p.name for p in mine.iterdir()] == ["index.html"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".mine")] == []


def test_a_link_vaxres_did_not_make_is_left_alone(cli, tmp_path):
    (tmp_path / "site").mkdir()
    link = tmp_path / "slots"
    link.symlink_to(tmp_path / "site")
    result = cli("publish", "scheduling-links", "--output", str(link), "--base-url", "https://x")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: --output {link} is a link vaxres did not make (to {tmp_path / 'site'}); name a new path\n"
    )
    assert link.resolve() == tmp_path / "site" and list((tmp_path / "site").iterdir()) == []


def test_a_prune_of_the_newest_messages_moves_transaction_time_back(cli, served, slots, tmp_path):
    """docs/interop.md's warning: transactionTime is the newest outbox message's time, so a prune
    that removes the newest messages publishes the same slots under an earlier time."""
    root, base = served
    later = NOW + dt.timedelta(days=2)  # 2027-04-03 in Seoul: the flu slot is still to come

    def publish_then():
        with time_machine.travel(later, tick=False):
            cli("publish", "scheduling-links", "--output", str(root / "slots"), "--base-url", f"{base}/slots")
        return read(base)

    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        assert cli("vaccine", "update", "Flu", "--alias", "influenza").exit_code == 0  # a message, no slot changed
        assert cli("outbox", "deliver", "--to", str(tmp_path / "sent.jsonl")).exit_code == 0
    first = publish_then()
    assert first["manifest"]["transactionTime"] == "2027-04-02T01:00:00Z"
    with time_machine.travel(later, tick=False):
        assert cli("outbox", "prune", "--before", "2027-04-03").exit_code == 0
    pruned = publish_then()
    assert pruned["manifest"]["transactionTime"] == "2027-04-01T01:00:00Z"  # the newest slot change
    assert pruned["Slot"] == first["Slot"] and pruned["Location"] == first["Location"]
