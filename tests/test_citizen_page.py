"""The booking page at `/` through TestClient: Korean by default, English by Accept-Language or
?lang= (kept in a cookie), the flow by forms, the Origin check, the waiting page when admission
sheds load, and every value escaped (hostile names fuzzed with hypothesis)."""

import datetime as dt
import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.citizen_helpers import BORN, delivered_codes, register
from tests.helpers import query

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SITE = {"Origin": "http://testserver"}


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def log_in_by_page(client, tmp_path, person="kim"):
    asked = client.post("/login", data={"person": person, "birth_date": BORN}, headers=SITE)
    assert asked.status_code == 202 and "인증번호 입력" in asked.text
    code = delivered_codes(tmp_path)[person]
    verified = client.post("/verify", data={"person": person, "code": code}, headers=SITE, follow_redirects=False)
    assert verified.status_code == 303
    cookie = verified.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=3600" in cookie
    return verified


@pytest.mark.usefixtures("backend")
def test_the_page_logs_in_books_and_cancels_in_korean(api, store, tmp_path, db_path):
    register(store, name="김민지")
    slot = api.slot(2, hospital="서울대학교병원")
    client = api.client
    first = client.get("/")
    assert first.status_code == 200 and '<html lang="ko">' in first.text and "본인 확인" in first.text
    log_in_by_page(client, tmp_path)
    page = client.get("/")
    assert "김민지 님" in page.text and "예약 가능한 일정" in page.text and "서울대학교병원" in page.text
    booked = client.post(
        "/book", data={"slot_id": str(slot["id"]), "user": "kim"}, headers=SITE, follow_redirects=False
    )
    assert booked.status_code == 303 and booked.headers["location"] == "/?done=booked"
    shown = text_of(client.get("/?done=booked").text)
    assert "예약되었습니다." in shown and "예약번호 1" in shown and "예약됨" in shown
    assert query(db_path, "SELECT user_id, status FROM reservation") == [("kim", "reserved")]
    cancelled = client.post("/cancel", data={"reservation_id": "1"}, headers=SITE, follow_redirects=False)
    assert cancelled.status_code == 303
    assert "취소됨" in text_of(client.get("/").text)
    assert query(db_path, "SELECT status FROM reservation") == [("cancelled",)]
    # A refusal is said on the page, in Korean, with the status the API gives it.
    again = client.post("/cancel", data={"reservation_id": "999"}, headers=SITE)
    assert again.status_code == 404 and "예약을 찾을 수 없습니다." in again.text
    assert client.post("/logout", headers=SITE, follow_redirects=False).status_code == 303
    assert "본인 확인" in client.get("/").text


def test_english_by_accept_language_or_the_switch_which_is_remembered(api):
    client = api.client
    assert '<html lang="en">' in client.get("/", headers={"Accept-Language": "en-US,en;q=0.8"}).text
    assert '<html lang="ko">' in client.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}).text
    switched = client.get("/?lang=en")
    assert "Log in" in switched.text and "vaxres_lang=en" in switched.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/").text  # the cookie remembers it
    assert '<html lang="ko">' in client.get("/?lang=ko").text


def test_a_form_from_another_site_is_refused(api, store, tmp_path, db_path):
    register(store)
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
        answer = api.client.post("/login", data={"person": "kim", "birth_date": BORN}, headers=headers)
        assert answer.status_code == 403 and "다른 사이트에서 보낸 요청" in answer.text
    assert query(db_path, "SELECT count(*) FROM citizen_code") == [(0,)]
    huge = api.client.post("/login", content=b"person=" + b"a" * 10_000, headers=SITE)
    assert huge.status_code == 413 and "요청이 너무 큽니다" in huge.text  # api/bounds.py: 4 KiB at most


def test_not_open_yet_shows_when_in_korean(api, store, tmp_path, cli):
    register(store)
    cli("db", "set-timezone", "Asia/Seoul")
    opens = dt.date.today() + dt.timedelta(days=3)
    assert cli("window", "add", "later", "--vaccine", "Janssen", "--opens", f"{opens} 20:00").exit_code == 0
    api.slot(3)
    log_in_by_page(api.client, tmp_path)
    assert f"아직 예약 기간이 아닙니다 — {opens.month}월 {opens.day}일 20:00 시작" in text_of(api.client.get("/").text)
    assert f"Not open yet — opens {opens.day} {opens:%b} 20:00" in text_of(api.client.get("/?lang=en").text)


def test_when_admission_sheds_the_page_waits_and_retries(api):
    reads = api.client.app.state.admission.reads
    held = 0
    while reads.try_enter():
        held += 1
    reads.queue, reads.timeout = 0, 0.0
    try:
        waiting = api.client.get("/?for=kim", headers={"Accept-Language": "en"})
        assert waiting.status_code == 503 and waiting.headers["Retry-After"] == "3"
        assert '<meta http-equiv="refresh" content="3;url=/?for=kim">' in waiting.text
        assert "Many people are booking" in waiting.text and "<script" not in waiting.text
        assert "접속자가 많습니다" in api.client.get("/").text
    finally:
        for _ in range(held):
            reads.leave()
    assert api.client.get("/").status_code == 200


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.handlers: list[str] = []
        self.text: list[str] = []
        self.values: dict[str, str] = {}

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.handlers += [name for name, _value in attrs if name.startswith("on")]
        fields = dict(attrs)
        if tag == "input" and "name" in fields:
            self.values[fields["name"]] = fields.get("value")


hostile = st.text(alphabet=st.sampled_from("<>\"'&/=` scriptimgonerror\u202e\u0000가나"), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile, hospital=hostile, vaccine=hostile, person=hostile)
def test_hostile_names_are_rendered_as_text(name, hospital, vaccine, person):
    from vaxres.api.page_render import render
    from vaxres.booking.model import ReservationRecord, SlotRecord
    from vaxres.booking.queries import MyPage
    from vaxres.citizens.acting import Offers, SlotOffer
    from vaxres.citizens.sessions import Citizen

    day = dt.date(2027, 8, 12)
    now = dt.datetime(2027, 8, 1, tzinfo=dt.UTC)
    booking = ReservationRecord(7, person, 1, "reserved", 3, day, hospital, vaccine, now, None)
    slot = SlotRecord(3, day, hospital, vaccine, 5, 4)
    offers = Offers(
        person, [SlotOffer(slot, 1, "open", None, None), SlotOffer(slot, 2, "not_open_yet", now, "Asia/Seoul")]
    )
    for lang in ("ko", "en"):
        page = render(
            "page.html",
            lang,
            citizen=Citizen(person, (), now),
            name=name,
            pages=[MyPage(person, [booking], None, [])],
            people=[{"id": person, "label": name}, {"id": "ward", "label": name}],
            offers=offers,
            error=name,
            today=dt.date(2027, 8, 1),
        )
        tags = Tags()
        tags.feed(page)
        assert tags.tags <= {
            "html",
            "head",
            "meta",
            "title",
            "link",
            "body",
            "a",
            "header",
            "span",
            "nav",
            "main",
            "h1",
            "h2",
            "p",
            "strong",
            "section",
            "ul",
            "li",
            "div",
            "form",
            "input",
            "button",
        }
        assert tags.handlers == []
        assert name in "".join(tags.text)  # shown as the text it is, whole
        code_page = Tags()
        code_page.feed(render("code.html", lang, person=person))
        assert code_page.values["person"] == person and code_page.handlers == []  # an attribute stays one


def test_a_guardian_books_for_their_ward_on_the_page(api, store, tmp_path, db_path):
    register(store, name="김민지")
    ward_born = (dt.date.today() - dt.timedelta(days=365 * 8)).isoformat()
    register(store, "jun", name="김준", birth_date=ward_born, phone=None, guardian="kim")
    slot = api.slot(2)
    log_in_by_page(api.client, tmp_path)
    page = api.client.get("/?for=jun")
    assert 'href="/?for=jun" aria-current="true"' in page.text and "김준 님의 예약" in page.text
    booked = api.client.post(
        "/book", data={"slot_id": str(slot["id"]), "user": "jun"}, headers=SITE, follow_redirects=False
    )
    assert booked.headers["location"] == "/?done=booked&for=jun"
    assert query(db_path, "SELECT user_id FROM reservation") == [("jun",)]
    stranger = api.client.post("/book", data={"slot_id": str(slot["id"]), "user": "lee"}, headers=SITE)
    assert stranger.status_code == 404 and "예약 대상을 찾을 수 없습니다." in stranger.text


def test_the_fourth_code_on_the_page_says_when_to_try_again(api, store, time_machine):
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)
    for _ in range(3):
        assert api.client.post("/login", data={"person": "ghost", "birth_date": BORN}, headers=SITE).status_code == 202
    fourth = api.client.post("/login", data={"person": "ghost", "birth_date": BORN}, headers=SITE)
    assert fourth.status_code == 429 and fourth.headers["Retry-After"] == "900"
    assert "인증번호는 15분에 3번까지 받을 수 있습니다. 900초 후에 다시 시도해 주세요." in fourth.text


def test_the_language_switch_works_from_a_form_answer(api):
    refused = api.client.post("/login", data={"person": "kim", "birth_date": "x"}, headers=SITE)
    switch = re.search(r'<a href="([^"]+)" lang="en">English</a>', refused.text)
    assert switch is not None and switch.group(1) == "/?lang=en"
    assert '<html lang="en">' in api.client.get(switch.group(1)).text


def test_accept_language_is_read_by_its_weights_and_whole_tags(api):
    for accept, lang in (
        ("en;q=0.2, ko;q=0.9", "ko"),  # the weight decides, not the order
        ("ko;q=0, en", "en"),  # q=0: not acceptable
        ("kok, en;q=0.5", "en"),  # Konkani is not Korean
        ("fr-CH, fr;q=0.9, en-GB;q=0.8", "en"),
        ("de, fr;q=0.5", "ko"),
    ):
        page = api.client.get("/", headers={"Accept-Language": accept})
        assert f'<html lang="{lang}">' in page.text, accept
