"""The booking page's words, in Korean (the default) and English, and the page's language:
?lang= (remembered in a cookie), else the cookie, else Accept-Language, else Korean."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from vaxres.formats import korean_date
from vaxres.validate import language_of

PAGE_LANGUAGES = ("ko", "en")
LANG_COOKIE = "vaxres_lang"
WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}

WORDS: dict[str, dict[str, str]] = {
    "ko": {
        "title": "예방접종 예약",
        "skip": "본문으로 건너뛰기",
        "switch": "English",
        "login_heading": "본인 확인",
        "login_intro": "등록된 아이디와 생년월일을 입력하면 등록된 휴대전화 또는 이메일로 인증번호 6자리를 보내 드립니다.",
        "person": "아이디",
        "birth_date": "생년월일 (YYYY-MM-DD)",
        "send_code": "인증번호 받기",
        "code_heading": "인증번호 입력",
        "code_intro": "등록되어 있다면 인증번호를 보냈습니다. 5분 안에 입력해 주세요.",
        "code": "인증번호 6자리",
        "verify": "확인",
        "new_code": "인증번호 다시 받기",
        "logout": "로그아웃",
        "hello": "{name} 님",
        "my_bookings": "내 예약",
        "bookings_of": "{name} 님의 예약",
        "none": "예약이 없습니다.",
        "waiting": "대기 중",
        "next_dose": "다음 접종: {vaccine} {dose}차, {day}부터",
        "book_heading": "예약 가능한 일정",
        "book_for": "예약 대상",
        "no_slots": "지금 예약할 수 있는 일정이 없습니다.",
        "remaining": "잔여 {n}",
        "dose": "{n}차",
        "book": "예약하기",
        "book_label": "{day} {hospital} {vaccine} 예약하기",
        "cancel": "예약 취소",
        "cancel_label": "예약 {id}번 취소",
        "reservation_no": "예약번호 {id}",
        "not_open_yet": "아직 예약 기간이 아닙니다 — {at} 시작",
        "not_eligible": "예약 대상이 아닙니다",
        "already_reserved": "이미 예약한 차수입니다",
        "window_closed": "예약 기간이 끝났습니다",
        "birth_date_unknown": "생년월일이 등록되어 있지 않아 예약할 수 없습니다",
        "booked": "예약되었습니다.",
        "cancelled": "예약이 취소되었습니다.",
        "status_reserved": "예약됨",
        "status_cancelled": "취소됨",
        "status_administered": "접종 완료",
        "status_no_show": "미방문",
        "busy_heading": "접속자가 많습니다",
        "busy_text": "잠시 기다려 주세요. {seconds}초 후에 자동으로 다시 시도합니다.",
        "busy_now": "지금 다시 시도",
        "too_large_heading": "요청이 너무 큽니다",
        "too_large_413": "보낸 양식이 {limit:,}바이트를 넘어 받지 않았습니다. 처음 화면으로 돌아가 다시 입력해 주세요.",
        "too_large_414": "주소가 {limit:,}바이트를 넘어 받지 않았습니다. 처음 화면으로 돌아가 주세요.",
        "too_large_431": "요청 헤더가 {limit:,}바이트를 넘어 받지 않았습니다. 쿠키를 지우고 처음 화면으로 돌아가 주세요.",
        "back_home": "처음 화면으로",
        "error": "오류",
    },
    "en": {
        "title": "Vaccination booking",
        "skip": "Skip to the content",
        "switch": "한국어",
        "login_heading": "Log in",
        "login_intro": "Give your registered id and birth date: a 6-digit code goes to your registered phone or e-mail.",
        "person": "Your id",
        "birth_date": "Birth date (YYYY-MM-DD)",
        "send_code": "Send me a code",
        "code_heading": "Enter the code",
        "code_intro": "If you are registered, a code is on its way. Enter it within 5 minutes.",
        "code": "6-digit code",
        "verify": "Continue",
        "new_code": "Send a new code",
        "logout": "Log out",
        "hello": "{name}",
        "my_bookings": "My bookings",
        "bookings_of": "Bookings of {name}",
        "none": "No bookings.",
        "waiting": "Waiting",
        "next_dose": "Next: {vaccine} dose {dose}, from {day}",
        "book_heading": "Open slots",
        "book_for": "Book for",
        "no_slots": "No slot can be booked now.",
        "remaining": "{n} left",
        "dose": "dose {n}",
        "book": "Book",
        "book_label": "Book {vaccine} at {hospital} on {day}",
        "cancel": "Cancel",
        "cancel_label": "Cancel reservation {id}",
        "reservation_no": "Reservation {id}",
        "not_open_yet": "Not open yet — opens {at}",
        "not_eligible": "Not open to you",
        "already_reserved": "You have booked this dose",
        "window_closed": "Booking has closed",
        "birth_date_unknown": "Your birth date is not registered",
        "booked": "Booked.",
        "cancelled": "Cancelled.",
        "status_reserved": "reserved",
        "status_cancelled": "cancelled",
        "status_administered": "given",
        "status_no_show": "missed",
        "busy_heading": "Many people are booking",
        "busy_text": "Please wait: this page tries again in {seconds} seconds.",
        "busy_now": "Try again now",
        "too_large_heading": "The request is too large",
        "too_large_413": "The form sent is over {limit:,} bytes and was not taken. Go back to the page and fill it in again.",
        "too_large_414": "The address is over {limit:,} bytes and was not taken. Go back to the page.",
        "too_large_431": "The request's headers are over {limit:,} bytes and were not taken. Clear this site's cookies and go back to the page.",
        "back_home": "Back to the page",
        "error": "Error",
    },
}
# The refusals a citizen meets, said in Korean; any other shows the rule's own (English) sentence.
KOREAN_ERRORS = {
    "code_refused": "인증번호가 틀렸거나 만료되었습니다(5분, 5회). 인증번호를 다시 받아 주세요.",
    "too_many_codes": "인증번호는 15분에 3번까지 받을 수 있습니다. {retry_after}초 후에 다시 시도해 주세요.",
    "session_refused": "로그인이 만료되었습니다. 다시 로그인해 주세요.",
    "sold_out": "잔여 백신이 없습니다. 다른 일정을 선택해 주세요.",
    "already_reserved": "이미 예약된 접종입니다.",
    "not_open_yet": "아직 예약 기간이 아닙니다.",
    "not_eligible": "예약 대상이 아닙니다.",
    "window_closed": "예약 기간이 끝났습니다.",
    "reservation_not_found": "예약을 찾을 수 없습니다.",
    "person_not_found": "예약 대상을 찾을 수 없습니다.",
    "invalid_input": "입력값을 확인해 주세요.",
    "forbidden_origin": "다른 사이트에서 보낸 요청은 받지 않습니다.",
}


def choose_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """?lang=, else the cookie, else the Accept-Language we speak with the highest weight (the
    first of equals), else Korean."""
    for given in (query, cookie):
        if given in PAGE_LANGUAGES:
            return given
    chosen, best = "ko", 0.0
    for part in (accept or "")[:500].split(","):
        tag, *parameters = part.split(";")
        language = language_of(tag.strip())
        weight = _weight(parameters)
        if language in PAGE_LANGUAGES and weight > best:
            chosen, best = language, weight
    return chosen


def _weight(parameters: list[str]) -> float:
    """An Accept-Language entry's q (1 when absent; 0, not acceptable, when it does not parse)."""
    for parameter in parameters:
        name, _, value = parameter.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def day_text(day: dt.date, lang: str) -> str:
    """'2026년 12월 12일 (토)' or 'Sat 12 Dec 2026'."""
    weekday = WEEKDAYS[lang][day.weekday()]
    if lang == "ko":
        return f"{korean_date(day)} ({weekday})"
    return f"{weekday} {day.day} {day:%b %Y}"


def moment_text(moment: dt.datetime, zone: str | None, lang: str) -> str:
    """'8월 12일 20:00' or '12 Aug 20:00', in the window's time zone."""
    local = moment.astimezone(ZoneInfo(zone)) if zone else moment
    if lang == "ko":
        return f"{local.month}월 {local.day}일 {local:%H:%M}"
    return f"{local.day} {local:%b %H:%M}"


def error_text(code: str, detail: str, lang: str, **facts: object) -> str:
    """What a refusal says on the page: in Korean when it is one a citizen meets, else its sentence."""
    if lang == "ko" and code == "invalid_input":
        return f"{KOREAN_ERRORS[code]} ({detail})"  # which value, as the rule says it
    if lang == "ko" and code in KOREAN_ERRORS:
        return KOREAN_ERRORS[code].format(retry_after=facts.get("retry_after", ""))
    return detail
