"""Every notification message in Korean and English: the sentences, Korean dates, which language a
command uses (--lang > VAXRES_LANG > the store's > English), `db set-language` and `db info`,
delivery in Korean with the facts unchanged, and the values refused."""

import datetime as dt
import json

import pytest
from rich.cells import cell_len

from tests.helpers import count_rows, future, query, run_vaxres
from vaxres.formats import korean_date
from vaxres.outbox import templates
from vaxres.outbox.events import ALL_EVENTS
from vaxres.validate import LANGUAGES

SLOT = {"slot_id": 4, "date": "2026-12-01", "hospital": "서울대학교병원", "vaccine": "화이자", "doses": 5}
BOOKING = {
    "reservation_id": 1,
    "user": "kim",
    "dose": 1,
    "slot_id": 4,
    "date": "2026-12-01",
    "hospital": "서울대학교병원",
    "vaccine": "화이자",
}
VACCINE = {"vaccine": "노바백스", "doses": 2, "min_interval_days": 21, "aliases": ["Nuvaxovid"]}
WAITING = {
    "entry_id": 3,
    "user": "kim",
    "dose": 2,
    "vaccine": "화이자",
    "hospital": "서울",
    "from": "2026-12-01",
    "to": "2026-12-31",
}
MOVED = {
    **BOOKING,
    "dose": 2,
    "previous_slot_id": 3,
    "previous_date": "2026-11-09",
    "previous_hospital": "부산대학교병원",
}

SENTENCES = [
    (
        "SlotRegistered",
        SLOT,
        "New vaccination slot: 화이자 at 서울대학교병원 on 2026-12-01, 5 doses open for booking.",
        "새 접종 일정이 등록되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 5회분 예약 가능.",
    ),
    (
        "SlotRegistered",
        {**SLOT, "doses": 1},
        "New vaccination slot: 화이자 at 서울대학교병원 on 2026-12-01, 1 dose open for booking.",
        "새 접종 일정이 등록되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1회분 예약 가능.",
    ),
    (
        "SlotUpdated",
        {**SLOT, "previous_doses": 1},
        "Vaccination slot changed: 화이자 at 서울대학교병원 on 2026-12-01 now has 5 doses (was 1).",
        "접종 일정이 변경되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 5회분(변경 전 1회분).",
    ),
    (
        "ReservationConfirmed",
        BOOKING,
        "Your reservation 1 is confirmed: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01.",
        "예약 1번이 확정되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종.",
    ),
    (
        "ReservationCancelled",
        BOOKING,
        "Your reservation 1 is cancelled: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01.",
        "예약 1번이 취소되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종.",
    ),
    (
        "ReservationRescheduled",
        MOVED,
        "Your reservation 1 has moved: 화이자 (dose 2) at 서울대학교병원 on 2026-12-01 (was 부산대학교병원 on 2026-11-09).",
        "예약 1번이 변경되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 2차 접종(변경 전: 부산대학교병원, 2026년 11월 9일).",
    ),
    (
        "VaccinationRecorded",
        {**BOOKING, "lot": "FK1234"},
        "Vaccination recorded: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01, lot FK1234.",
        "접종이 완료되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종(제조번호 FK1234).",
    ),
    (
        "VaccinationRecorded",
        {**BOOKING, "lot": None},
        "Vaccination recorded: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01.",
        "접종이 완료되었습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종.",
    ),
    (
        "ReservationMissed",
        BOOKING,
        "You missed reservation 1: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01. Please book again.",
        "예약 1번에 방문하지 않으셨습니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종. 다시 예약해 주시기 바랍니다.",
    ),
    (
        "ReservationReminder",
        {**BOOKING, "days_before": 1, "days_left": 1},
        "Reminder: your reservation 1 is in 1 day: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01.",
        "알림: 예약 1번 접종이 1일 후입니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종.",
    ),
    (
        "ReservationReminder",
        {**BOOKING, "days_before": 1, "days_left": 0},
        "Reminder: your reservation 1 is today: 화이자 (dose 1) at 서울대학교병원 on 2026-12-01.",
        "알림: 예약 1번 접종이 오늘입니다: 서울대학교병원, 2026년 12월 1일, 화이자 1차 접종.",
    ),
    (
        "VaccineAdded",
        VACCINE,
        "Vaccine added to the catalog: 노바백스, 2 doses, at least 21 days apart (also called Nuvaxovid).",
        "백신이 등록되었습니다: 노바백스, 2회 접종, 접종 간격 최소 21일(다른 이름: Nuvaxovid).",
    ),
    (
        "VaccineAdded",
        {**VACCINE, "doses": 1, "min_interval_days": 0, "aliases": []},
        "Vaccine added to the catalog: 노바백스, 1 dose.",
        "백신이 등록되었습니다: 노바백스, 1회 접종.",
    ),
    (
        "VaccineUpdated",
        {**VACCINE, "doses": 3, "previous_doses": 2, "previous_min_interval_days": 28},
        "Vaccine changed: 노바백스 is now 3 doses, at least 21 days apart (was 2 doses, at least 28 days apart); "
        "also called Nuvaxovid.",
        "백신 정보가 변경되었습니다: 노바백스, 3회 접종, 접종 간격 최소 21일(변경 전: 2회 접종, 접종 간격 최소 28일), "
        "다른 이름: Nuvaxovid.",
    ),
    (
        "WaitlistJoined",
        WAITING,
        "You are on the waitlist (entry 3) for 화이자 (dose 2) at a hospital matching 서울, from 2026-12-01 to "
        "2026-12-31: a matching dose that frees up is booked for you.",
        "대기 명단에 등록되었습니다(대기 3번): 화이자 2차 접종, '서울' 포함 병원, 2026년 12월 1일부터 2026년 12월 31일까지. "
        "조건에 맞는 접종분이 생기면 자동으로 예약됩니다.",
    ),
    (
        "WaitlistJoined",
        {**WAITING, "hospital": None, "to": None},
        "You are on the waitlist (entry 3) for 화이자 (dose 2) at any hospital, from 2026-12-01 on: "
        "a matching dose that frees up is booked for you.",
        "대기 명단에 등록되었습니다(대기 3번): 화이자 2차 접종, 모든 병원, 2026년 12월 1일 이후. "
        "조건에 맞는 접종분이 생기면 자동으로 예약됩니다.",
    ),
    (
        "WaitlistLeft",
        WAITING,
        "You left the waitlist (entry 3) for 화이자 (dose 2) at a hospital matching 서울, from 2026-12-01 to 2026-12-31.",
        "대기 명단에서 나왔습니다(대기 3번): 화이자 2차 접종, '서울' 포함 병원, 2026년 12월 1일부터 2026년 12월 31일까지.",
    ),
    (
        "PersonRegistered",
        {"person": "kim", "fields": ["name", "rrn"]},
        "Person kim registered: name, rrn.",
        "kim 님이 등록되었습니다(항목: name, rrn).",
    ),
    (
        "PersonUpdated",
        {"person": "kim", "fields": ["phone"]},
        "Person kim changed: phone.",
        "kim 님의 정보가 변경되었습니다(항목: phone).",
    ),
    (
        "PersonForgotten",
        {"person": "kim", "fields": []},
        "Person kim's personal data erased.",
        "kim 님의 개인정보가 삭제되었습니다.",
    ),
    (
        "WindowAdded",
        {"name": "18-49", "vaccine": "화이자", "opens_at": "2021-08-09T11:00:00Z", "time_zone": "Asia/Seoul"},
        "Eligibility window 18-49 added for 화이자, opening 2021-08-09 20:00 (Asia/Seoul).",
        "접종 예약 기간 18-49이(가) 추가되었습니다: 화이자, 2021-08-09 20:00 (Asia/Seoul)부터.",
    ),
    (
        "WindowClosed",
        {"name": "18-49", "vaccine": "화이자", "closes_at": "2021-08-19T09:00:00Z", "time_zone": "Asia/Seoul"},
        "Eligibility window 18-49 for 화이자 closes 2021-08-19 18:00 (Asia/Seoul).",
        "접종 예약 기간 18-49(화이자)이(가) 2021-08-19 18:00 (Asia/Seoul)에 종료됩니다.",
    ),
    (
        "EligibilityOverridden",
        {**BOOKING, "reason": "의료진"},
        f"Reservation {BOOKING['reservation_id']} made past the eligibility windows: 의료진.",
        f"예약 {BOOKING['reservation_id']}번이 예약 기간 규칙 예외로 처리되었습니다: 의료진.",
    ),
    (
        "CitizenCode",
        {"code": "042917", "valid_minutes": 5},
        "Your vaxres login code is 042917 (valid 5 minutes). Never give it to anyone: no one from vaxres will ask for it.",
        "[vaxres] 인증번호는 042917입니다(5분간 유효). 누구에게도 알려주지 마세요.",
    ),
]


def korean(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return f"{d.year}년 {d.month}월 {d.day}일"


# --- the sentences --------------------------------------------------------------------------


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_every_event_has_a_message_in_every_language(event):
    """A new event needs one entry in templates.TEMPLATES with a template per language."""
    assert event in templates.TEMPLATES, f"{event} has no entry in vaxres/outbox/templates.py TEMPLATES"
    assert sorted(templates.TEMPLATES[event]) == sorted(LANGUAGES), f"{event} lacks a language"


def test_the_sentences_cover_every_event():
    assert {event for event, *_ in SENTENCES} == set(ALL_EVENTS)


@pytest.mark.parametrize(("event", "facts", "english", "korean_text"), SENTENCES, ids=[s[0] for s in SENTENCES])
def test_each_event_reads_in_english_and_korean(event, facts, english, korean_text):
    assert templates.with_message(event, facts) == {**facts, "message": english, "lang": "en"}
    assert templates.with_message(event, facts, "en") == {**facts, "message": english, "lang": "en"}
    assert templates.with_message(event, facts, "ko") == {**facts, "message": korean_text, "lang": "ko"}


@pytest.mark.parametrize(
    ("day", "written"),
    [
        ("2026-12-01", "2026년 12월 1일"),
        ("2027-01-09", "2027년 1월 9일"),
        ("2026-10-31", "2026년 10월 31일"),
        (dt.date(2030, 2, 3), "2030년 2월 3일"),
    ],
)
def test_korean_dates_read_as_people_write_them(day, written):
    assert korean_date(day) == written


def test_a_message_already_written_is_kept_in_any_language_and_odd_facts_get_none():
    assert templates.with_message("SlotRegistered", {"message": "as written"}, "ko") == {"message": "as written"}
    assert templates.with_message("SlotRegistered", {**SLOT, "date": "soon"}, "ko") == {**SLOT, "date": "soon"}
    assert templates.with_message("SomethingNew", {"a": 1}, "ko") == {"a": 1}


def test_an_event_without_a_korean_template_reads_in_english_and_says_so(monkeypatch):
    monkeypatch.setitem(templates.TEMPLATES, "SlotRegistered", {"en": templates.TEMPLATES["SlotRegistered"]["en"]})
    rendered = templates.with_message("SlotRegistered", SLOT, "ko")
    assert (rendered["message"], rendered["lang"]) == (SENTENCES[0][2], "en")


# --- which language -------------------------------------------------------------------------


def add_and_book(cli) -> None:
    cli.json(
        "slot", "add", "--date", future(), "--hospital", "서울대학교병원", "--vaccine", "Pfizer", "--quantity", "2"
    )
    cli.json("reserve", "--user", "kim", "--slot", "1")


def confirmed_ko(day: str) -> str:
    return f"예약 1번이 확정되었습니다: 서울대학교병원, {korean(day)}, Pfizer 1차 접종."


def confirmed_en(day: str) -> str:
    return f"Your reservation 1 is confirmed: Pfizer (dose 1) at 서울대학교병원 on {day}."


def listed(cli, *args: str) -> list[tuple[str, str]]:
    return [(m["payload"]["message"], m["payload"]["lang"]) for m in cli.json("outbox", "list", *args)]


@pytest.mark.usefixtures("backend")
def test_lang_option_then_vaxres_lang_then_the_store_then_english(cli, monkeypatch):
    add_and_book(cli)
    english, korean_line = (confirmed_en(future()), "en"), (confirmed_ko(future()), "ko")
    assert listed(cli)[1] == english  # a store never set reads in English
    assert listed(cli, "--lang", "ko")[1] == korean_line
    monkeypatch.setenv("VAXRES_LANG", "ko")
    assert listed(cli)[1] == korean_line
    assert listed(cli, "--lang", "EN")[1] == english
    assert cli("db", "set-language", "ko").exit_code == 0
    monkeypatch.setenv("VAXRES_LANG", "en")
    assert listed(cli)[1] == english
    assert listed(cli, "--lang", "ko-KR")[1] == korean_line
    monkeypatch.setenv("VAXRES_LANG", "")  # empty is unset
    assert listed(cli)[1] == korean_line
    monkeypatch.delenv("VAXRES_LANG")
    assert listed(cli)[1] == korean_line
    assert listed(cli, "--lang", "en")[1] == english


@pytest.mark.usefixtures("backend")
def test_the_store_keeps_the_facts_whatever_the_language(cli, db_path):
    add_and_book(cli)
    before = query(db_path, "SELECT id, payload FROM outbox ORDER BY id")
    cli("db", "set-language", "ko")
    korean_list = cli.json("outbox", "list")
    english_list = cli.json("outbox", "list", "--lang", "en")
    assert query(db_path, "SELECT id, payload FROM outbox ORDER BY id") == before
    for ko, en in zip(korean_list, english_list, strict=True):
        facts = {k: v for k, v in ko["payload"].items() if k not in ("message", "lang")}
        assert facts == {k: v for k, v in en["payload"].items() if k not in ("message", "lang")}
        assert {k: v for k, v in ko.items() if k != "payload"} == {k: v for k, v in en.items() if k != "payload"}


@pytest.mark.one_backend
@pytest.mark.usefixtures("backend")
def test_outbox_show_and_the_reservation_history_in_korean(cli, monkeypatch):
    add_and_book(cli)
    cli.json("cancel", "1")
    shown = cli("outbox", "show", "2", "--lang", "ko")
    assert f"Message:      {confirmed_ko(future())}\n" in shown.stdout
    assert '  "lang": "ko"\n' in shown.stdout
    assert cli.json("outbox", "show", "2", "--lang", "ko")["payload"]["message"] == confirmed_ko(future())
    monkeypatch.setenv("VAXRES_LANG", "ko_KR.UTF-8")
    history = cli.json("show", "1")["history"]
    assert [h["message"] for h in history] == [
        confirmed_ko(future()),
        f"예약 1번이 취소되었습니다: 서울대학교병원, {korean(future())}, Pfizer 1차 접종.",
    ]
    table = cli("show", "1", "--lang", "en").stdout
    assert confirmed_en(future()) in table and "예약" not in table


@pytest.mark.usefixtures("backend")
def test_deliver_to_a_file_in_korean(cli, tmp_path, db_path):
    add_and_book(cli)
    stored = [
        json.loads(p) if isinstance(p, str) else p for (p,) in query(db_path, "SELECT payload FROM outbox ORDER BY id")
    ]
    cli("db", "set-language", "ko")
    out = tmp_path / "out.jsonl"
    result = cli("outbox", "deliver", "--to", str(out))
    assert (result.exit_code, result.stderr) == (0, "")
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["payload"] for line in lines] == [
        {
            **stored[0],
            "message": f"새 접종 일정이 등록되었습니다: 서울대학교병원, {korean(future())}, Pfizer 2회분 예약 가능.",
            "lang": "ko",
        },
        {**stored[1], "message": confirmed_ko(future()), "lang": "ko"},
    ]
    assert "새 접종" in out.read_text(encoding="utf-8")  # written as UTF-8, not \u escapes


def test_deliver_with_lang_overrides_the_store(cli, tmp_path):
    add_and_book(cli)
    cli("db", "set-language", "ko")
    out = tmp_path / "out.jsonl"
    assert cli("outbox", "deliver", "--to", str(out), "--lang", "en").exit_code == 0
    assert [json.loads(line)["payload"]["lang"] for line in out.read_text().splitlines()] == ["en", "en"]


def test_vaxres_lang_in_a_real_process(cli):
    add_and_book(cli)
    result = run_vaxres("outbox", "list", "--json", env={"VAXRES_LANG": "ko_KR.UTF-8"})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[1]["payload"]["message"] == confirmed_ko(future())


def test_a_korean_table_fits_80_columns(cli, monkeypatch):
    add_and_book(cli)
    monkeypatch.setenv("COLUMNS", "80")
    lines = cli("outbox", "list", "--lang", "ko").stdout.splitlines()
    assert len(lines) == 5 and "예약 1번이" in lines[4]
    assert max(cell_len(line) for line in lines) <= 80


# --- the store's language -------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_set_language_and_info(cli):
    assert cli.json("db", "info")["language"] == "en"
    assert "Language:     en (of notification messages)" in cli("db", "info").stdout.splitlines()
    changed = cli("db", "set-language", " KO ")
    assert (changed.exit_code, changed.stdout, changed.stderr) == (0, "The store's language is now ko (was en).\n", "")
    again = cli("db", "set-language", "ko_KR.UTF-8")
    assert again.stdout == "The store's language is already ko; nothing changed.\n"
    assert cli.json("db", "info")["language"] == "ko"
    assert "Language:     ko (of notification messages)" in cli("db", "info").stdout.splitlines()
    back = cli.json("db", "set-language", "en")
    assert back == {"store": back["store"], "previous": "ko", "language": "en"}


def test_a_language_written_by_hand_that_vaxres_does_not_know_reads_as_english(cli, db_path):
    add_and_book(cli)
    query(db_path, "INSERT INTO store_setting (key, value) VALUES ('language', 'fr')")
    assert cli.json("db", "info")["language"] == "en"
    assert listed(cli)[1] == (confirmed_en(future()), "en")


# --- refused values -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["fr", "", "kor", "english", "k", "zh-KO"])
@pytest.mark.parametrize(
    "args",
    [["outbox", "list"], ["outbox", "show", "1"], ["outbox", "deliver", "--to", "OUT"], ["show", "1"]],
    ids=lambda args: " ".join(args[:2]),
)
def test_a_bad_lang_exits_2_in_one_line(cli, tmp_path, db_path, args, value):
    add_and_book(cli)
    out = tmp_path / "out.jsonl"
    result = cli(*[str(out) if a == "OUT" else a for a in args], "--lang", value)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"Error: --lang must be en or ko, got {value!r}\n"
    assert not out.exists() and count_rows(db_path, "outbox", "status = 'pending'") == 2


@pytest.mark.parametrize("args", [["outbox", "list"], ["outbox", "deliver", "--to", "-"], ["show", "1"]])
def test_a_bad_vaxres_lang_exits_2_naming_it(cli, monkeypatch, db_path, args):
    add_and_book(cli)
    monkeypatch.setenv("VAXRES_LANG", "de_DE.UTF-8")
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: VAXRES_LANG must be en or ko, got 'de_DE.UTF-8'\n",
    )
    assert json.loads(cli(*args, "--json").stderr) == {
        "error": "VAXRES_LANG must be en or ko, got 'de_DE.UTF-8'",
        "code": "invalid_input",
    }
    assert count_rows(db_path, "outbox", "status = 'pending'") == 2
    assert cli("outbox", "list", "--lang", "en").exit_code == 0  # --lang wins over a bad VAXRES_LANG


@pytest.mark.usefixtures("backend")
def test_set_language_refuses_what_it_does_not_know_and_changes_nothing(cli, db_path):
    cli("db", "set-language", "ko")
    result = cli("db", "set-language", "Japanese")
    assert (result.exit_code, result.stderr) == (2, "Error: language must be en or ko, got 'Japanese'\n")
    assert query(db_path, "SELECT value FROM store_setting WHERE key = 'language'") == [("ko",)]


def test_the_demo_lists_its_outbox_in_the_language_asked_for(cli, tmp_path):
    path = tmp_path / "demo.db"
    shown = cli("--db", str(path), "demo", "--lang", "ko")
    assert shown.exit_code == 0, shown.stderr
    assert f" --db {path} outbox list --lang ko\n" in shown.stdout and "예약 1번이 확정되었습" in shown.stdout
    report = cli.json("--db", str(tmp_path / "demo2.db"), "demo", "--lang", "ko")
    assert {m["payload"]["lang"] for m in report["outbox"]} == {"ko"}
    assert cli.json("--db", str(path), "db", "info")["language"] == "en"  # --lang chose for one command only
