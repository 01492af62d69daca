"""The booking page in a real browser (Playwright on Debian's chromium, /usr/bin/chromium) over a
real `vaxres serve`: log in with the keyboard, the code read from the file `outbox deliver`
wrote, book, see the booking, cancel, in Korean, at 360×740 (a phone) and 1280×800. Screenshots
go to the test's temporary folder (VAXRES_SCREENSHOTS names another)."""

import json
import os
from pathlib import Path

import pytest

from tests.citizen_helpers import BORN, register
from tests.helpers import future, run_vaxres
from tests.test_api_race import serving

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium)"),
]


def code_for(person: str, folder: Path) -> str:
    target = folder / "delivered.jsonl"
    result = run_vaxres("outbox", "deliver", "--to", str(target))
    assert result.returncode == 0, result.stderr
    messages = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    return [m for m in messages if m["event"] == "CitizenCode" and m["recipient"] == person][-1]["payload"]["code"]


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()")


@pytest.mark.usefixtures("sqlite_only")
def test_log_in_book_see_and_cancel_in_korean_on_a_phone_and_a_desktop(store, tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    from vaxres.booking.slots import add_slot

    shots = Path(os.environ.get("VAXRES_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    sizes = {"phone": (360, 740), "desktop": (1280, 800)}
    for person in sizes:
        register(store, person, name=f"김{'민지' if person == 'phone' else '서연'}")
    add_slot(store, date=future(5), hospital="서울대학교병원 본관 예방접종센터", vaccine="Janssen", quantity=20)
    add_slot(store, date=future(6), hospital="세브란스병원", vaccine="Janssen", quantity=5)
    with serving() as (base, _auth), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            for person, (width, height) in sizes.items():
                context = browser.new_context(viewport={"width": width, "height": height}, locale="ko-KR")
                page = context.new_page()
                page.goto(base + "/")
                assert page.locator("html").get_attribute("lang") == "ko"
                page.screenshot(path=shots / f"{person}-1-login.png", full_page=True)
                # The keyboard alone: skip link, language switch, then the two fields in order.
                for expected in ("본문으로 건너뛰기", "English", "person"):
                    page.keyboard.press("Tab")
                    assert focused(page) == expected
                outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                assert outline == "solid"  # the focus is seen
                page.keyboard.type(person)
                page.keyboard.press("Tab")
                assert focused(page) == "birth_date"
                page.keyboard.type(BORN)
                page.keyboard.press("Enter")
                page.wait_for_selector("#code")
                assert focused(page) == "code"  # autofocus: the code goes straight in
                page.keyboard.type(code_for(person, tmp_path))
                page.keyboard.press("Enter")
                page.wait_for_selector("text=예약 가능한 일정")
                assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
                page.screenshot(path=shots / f"{person}-2-page.png", full_page=True)
                page.get_by_role("button", name="서울대학교병원").first.press("Enter")
                page.wait_for_selector("text=예약되었습니다.")
                assert page.locator(".booking .status").first.inner_text() == "예약됨"
                page.screenshot(path=shots / f"{person}-3-booked.png", full_page=True)
                page.get_by_role("button", name="취소").first.press("Enter")
                page.wait_for_selector("text=예약이 취소되었습니다.")
                assert page.locator(".booking .status").first.inner_text() == "취소됨"
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.screenshot(path=shots / f"{person}-4-cancelled.png", full_page=True)
                context.close()
        finally:
            browser.close()
    assert sorted(p.name for p in shots.glob("*.png")) == sorted(
        f"{person}-{step}.png" for person in sizes for step in ("1-login", "2-page", "3-booked", "4-cancelled")
    )
