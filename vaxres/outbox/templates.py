"""The readable message of each notification, in English and Korean, rendered from the facts the
outbox stores.

The outbox keeps the facts of an event (vaxres.outbox.events); the sentence a person reads is
added here, whenever a message is listed or delivered, in the language the reader chose. One
entry per event, one template per language side by side, in one place: the single commands and
the bulk imports (which write their messages in SQL) cannot drift apart, a million imported
slots do not store a million sentences, and changing the store's language changes every message
not yet delivered.

A new event adds one entry with a template for each of validate.LANGUAGES (English is also
what an event without a template in the chosen language reads in);
tests/test_languages.py fails for an event of events.ALL_EVENTS that lacks one.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any

from vaxres.formats import doses, korean_date
from vaxres.outbox.events import (
    CITIZEN_CODE,
    ELIGIBILITY_OVERRIDDEN,
    GUARDIAN_OF,
    PERSON_FORGOTTEN,
    PERSON_REGISTERED,
    PERSON_UPDATED,
    RESERVATION_CANCELLED,
    RESERVATION_CONFIRMED,
    RESERVATION_MISSED,
    RESERVATION_REMINDER,
    RESERVATION_RESCHEDULED,
    SLOT_REGISTERED,
    SLOT_UPDATED,
    VACCINATION_RECORDED,
    VACCINE_ADDED,
    VACCINE_UPDATED,
    WAITLIST_JOINED,
    WAITLIST_LEFT,
    WINDOW_ADDED,
    WINDOW_CLOSED,
)
from vaxres.validate import DEFAULT_LANGUAGE

Template = Callable[[dict[str, Any]], str]


def _en_booking(p: dict[str, Any]) -> str:
    return f"{p['vaccine']} (dose {p['dose']}) at {p['hospital']} on {p['date']}"


def _en_lot(p: dict[str, Any]) -> str:
    return f", lot {p['lot']}" if p.get("lot") else ""


def _ko_slot(p: dict[str, Any]) -> str:
    return f"{p['hospital']}, {korean_date(p['date'])}, {p['vaccine']}"


def _ko_booking(p: dict[str, Any]) -> str:
    """'서울대학교병원, 2026년 12월 1일, 화이자 1차 접종': where, when, what; the order Korean notices use."""
    return f"{_ko_slot(p)} {p['dose']}차 접종"


def _ko_lot(p: dict[str, Any]) -> str:
    return f"(제조번호 {p['lot']})" if p.get("lot") else ""


def _reminder(p: dict[str, Any]) -> str:
    days = p["days_left"]
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return (
        f"Reminder: your reservation {p['reservation_id']} is {when}: {p['vaccine']} (dose {p['dose']}) "
        f"at {p['hospital']} on {p['date']}."
    )


def _ko_reminder(p: dict[str, Any]) -> str:
    days = p["days_left"]
    when = "오늘" if days == 0 else f"{days}일 후"
    return f"알림: 예약 {p['reservation_id']}번 접종이 {when}입니다: {_ko_booking(p)}."


def _en_series(doses_given: int, interval: int) -> str:
    return doses(doses_given) + (f", at least {interval} days apart" if doses_given > 1 else "")


def _ko_series(doses_given: int, interval: int) -> str:
    return f"{doses_given}회 접종" + (f", 접종 간격 최소 {interval}일" if doses_given > 1 else "")


def _en_aliases(p: dict[str, Any]) -> str:
    return f" (also called {', '.join(p['aliases'])})" if p.get("aliases") else ""


def _ko_aliases(p: dict[str, Any]) -> str:
    return f"(다른 이름: {', '.join(p['aliases'])})" if p.get("aliases") else ""


def _en_wait(p: dict[str, Any]) -> str:
    """'Pfizer (dose 1) at any hospital, from 2026-12-01 to 2026-12-31': what a waitlist entry waits for."""
    where = f"at a hospital matching {p['hospital']}" if p.get("hospital") else "at any hospital"
    until = f" to {p['to']}" if p.get("to") else " on"
    return f"{p['vaccine']} (dose {p['dose']}) {where}, from {p['from']}{until}"


def _ko_wait(p: dict[str, Any]) -> str:
    where = f"'{p['hospital']}' 포함 병원" if p.get("hospital") else "모든 병원"
    until = f"부터 {korean_date(p['to'])}까지" if p.get("to") else " 이후"
    return f"{p['vaccine']} {p['dose']}차 접종, {where}, {korean_date(p['from'])}{until}"


TEMPLATES: dict[str, dict[str, Template]] = {
    SLOT_REGISTERED: {
        "en": lambda p: (
            f"New vaccination slot: {p['vaccine']} at {p['hospital']} on {p['date']}, "
            f"{doses(p['doses'])} open for booking."
        ),
        "ko": lambda p: f"새 접종 일정이 등록되었습니다: {_ko_slot(p)} {p['doses']}회분 예약 가능.",
    },
    SLOT_UPDATED: {
        "en": lambda p: (
            f"Vaccination slot changed: {p['vaccine']} at {p['hospital']} on {p['date']} "
            f"now has {doses(p['doses'])} (was {p['previous_doses']})."
        ),
        "ko": lambda p: (
            f"접종 일정이 변경되었습니다: {_ko_slot(p)} {p['doses']}회분(변경 전 {p['previous_doses']}회분)."
        ),
    },
    RESERVATION_CONFIRMED: {
        "en": lambda p: f"Your reservation {p['reservation_id']} is confirmed: {_en_booking(p)}.",
        "ko": lambda p: f"예약 {p['reservation_id']}번이 확정되었습니다: {_ko_booking(p)}.",
    },
    RESERVATION_CANCELLED: {
        "en": lambda p: f"Your reservation {p['reservation_id']} is cancelled: {_en_booking(p)}.",
        "ko": lambda p: f"예약 {p['reservation_id']}번이 취소되었습니다: {_ko_booking(p)}.",
    },
    RESERVATION_RESCHEDULED: {
        "en": lambda p: (
            f"Your reservation {p['reservation_id']} has moved: {_en_booking(p)} "
            f"(was {p['previous_hospital']} on {p['previous_date']})."
        ),
        "ko": lambda p: (
            f"예약 {p['reservation_id']}번이 변경되었습니다: {_ko_booking(p)}"
            f"(변경 전: {p['previous_hospital']}, {korean_date(p['previous_date'])})."
        ),
    },
    VACCINATION_RECORDED: {
        "en": lambda p: f"Vaccination recorded: {_en_booking(p)}{_en_lot(p)}.",
        "ko": lambda p: f"접종이 완료되었습니다: {_ko_booking(p)}{_ko_lot(p)}.",
    },
    RESERVATION_MISSED: {
        "en": lambda p: f"You missed reservation {p['reservation_id']}: {_en_booking(p)}. Please book again.",
        "ko": lambda p: (
            f"예약 {p['reservation_id']}번에 방문하지 않으셨습니다: {_ko_booking(p)}. 다시 예약해 주시기 바랍니다."
        ),
    },
    RESERVATION_REMINDER: {"en": _reminder, "ko": _ko_reminder},
    VACCINE_ADDED: {
        "en": lambda p: (
            f"Vaccine added to the catalog: {p['vaccine']}, {_en_series(p['doses'], p['min_interval_days'])}{_en_aliases(p)}."
        ),
        "ko": lambda p: (
            f"백신이 등록되었습니다: {p['vaccine']}, {_ko_series(p['doses'], p['min_interval_days'])}{_ko_aliases(p)}."
        ),
    },
    VACCINE_UPDATED: {
        "en": lambda p: (
            f"Vaccine changed: {p['vaccine']} is now {_en_series(p['doses'], p['min_interval_days'])} "
            f"(was {_en_series(p['previous_doses'], p['previous_min_interval_days'])})"
            + (f"; also called {', '.join(p['aliases'])}." if p.get("aliases") else ".")
        ),
        "ko": lambda p: (
            f"백신 정보가 변경되었습니다: {p['vaccine']}, {_ko_series(p['doses'], p['min_interval_days'])}"
            f"(변경 전: {_ko_series(p['previous_doses'], p['previous_min_interval_days'])})"
            + (f", 다른 이름: {', '.join(p['aliases'])}." if p.get("aliases") else ".")
        ),
    },
    WAITLIST_JOINED: {
        "en": lambda p: (
            f"You are on the waitlist (entry {p['entry_id']}) for {_en_wait(p)}: "
            f"a matching dose that frees up is booked for you."
        ),
        "ko": lambda p: (
            f"대기 명단에 등록되었습니다(대기 {p['entry_id']}번): {_ko_wait(p)}. "
            f"조건에 맞는 접종분이 생기면 자동으로 예약됩니다."
        ),
    },
    WAITLIST_LEFT: {
        "en": lambda p: f"You left the waitlist (entry {p['entry_id']}) for {_en_wait(p)}.",
        "ko": lambda p: f"대기 명단에서 나왔습니다(대기 {p['entry_id']}번): {_ko_wait(p)}.",
    },
    # Changes to the registry: recorded, never delivered; they name fields, never values.
    PERSON_REGISTERED: {
        "en": lambda p: f"Person {p['person']} registered{_en_fields(p)}.",
        "ko": lambda p: f"{p['person']} 님이 등록되었습니다{_ko_fields(p)}.",
    },
    PERSON_UPDATED: {
        "en": lambda p: f"Person {p['person']} changed{_en_fields(p)}.",
        "ko": lambda p: f"{p['person']} 님의 정보가 변경되었습니다{_ko_fields(p)}.",
    },
    # Eligibility (issue 21): recorded, never delivered.
    WINDOW_ADDED: {
        "en": lambda p: f"Eligibility window {p['name']} added for {p['vaccine']}, opening {_at(p, 'opens_at')}.",
        "ko": lambda p: f"접종 예약 기간 {p['name']}이(가) 추가되었습니다: {p['vaccine']}, {_at(p, 'opens_at')}부터.",
    },
    WINDOW_CLOSED: {
        "en": lambda p: f"Eligibility window {p['name']} for {p['vaccine']} closes {_at(p, 'closes_at')}.",
        "ko": lambda p: f"접종 예약 기간 {p['name']}({p['vaccine']})이(가) {_at(p, 'closes_at')}에 종료됩니다.",
    },
    ELIGIBILITY_OVERRIDDEN: {
        "en": lambda p: f"Reservation {p['reservation_id']} made past the eligibility windows: {p['reason']}.",
        "ko": lambda p: f"예약 {p['reservation_id']}번이 예약 기간 규칙 예외로 처리되었습니다: {p['reason']}.",
    },
    # A citizen's login code (issue 23): to the person alone.
    CITIZEN_CODE: {
        "en": lambda p: (
            f"Your vaxres login code is {p['code']} (valid {p['valid_minutes']} minutes). "
            "Never give it to anyone: no one from vaxres will ask for it."
        ),
        "ko": lambda p: (
            f"[vaxres] 인증번호는 {p['code']}입니다({p['valid_minutes']}분간 유효). 누구에게도 알려주지 마세요."
        ),
    },
    PERSON_FORGOTTEN: {
        "en": lambda p: f"Person {p['person']}'s personal data erased.",
        "ko": lambda p: f"{p['person']} 님의 개인정보가 삭제되었습니다.",
    },
}


def _at(p: dict[str, Any], key: str) -> str:
    """'2021-08-09 20:00 (Asia/Seoul)': a window's time (UTC in the payload) in its zone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(p["time_zone"])
    return f"{dt.datetime.fromisoformat(p[key]).astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})"


def _en_fields(p: dict[str, Any]) -> str:
    return f": {', '.join(p['fields'])}" if p.get("fields") else ""


def _ko_fields(p: dict[str, Any]) -> str:
    return f"(항목: {', '.join(p['fields'])})" if p.get("fields") else ""


def with_message(event: str, payload: dict[str, Any], lang: str = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The payload as delivered and listed: the stored facts plus `message` in `lang`, and `lang`.

    A payload that already carries a message (written by another tool, or by hand) keeps it, and
    gets no `lang`; an event without a template, a payload that is not an object, or facts a
    template cannot use, get none rather than an error (a dispatcher must not stall on one odd row).
    An event without a template in `lang` reads in English, and says so in `lang`.
    """
    if not isinstance(payload, dict) or "message" in payload or event not in TEMPLATES:
        return payload
    templates = TEMPLATES[event]
    contact = payload.get("contact")
    if isinstance(contact, dict) and contact.get("lang") in templates:
        lang = contact["lang"]  # a message to a person is read in their language
    if lang not in templates:
        lang = DEFAULT_LANGUAGE
    try:
        message = templates[lang](payload)
        if GUARDIAN_OF in payload:
            message = GUARDIAN_COPY[lang](payload[GUARDIAN_OF]) + message
    except (KeyError, TypeError, ValueError):
        return payload
    return {**payload, "message": message, "lang": lang}


def _ward(ward: dict[str, Any]) -> str:
    return ward["name"] or ward["id"]


# What a guardian's copy of a message says first: whose message it is.
GUARDIAN_COPY: dict[str, Template] = {
    "en": lambda ward: f"Copy for the guardian of {_ward(ward)}: ",
    "ko": lambda ward: f"[{_ward(ward)} 님의 보호자 안내] ",
}


# An e-mail's subject (outbox deliver --to smtp://): short, in the message's language; only the
# events that reach a person. Anything else (a message written by another tool) gets the generic one.
SUBJECTS: dict[str, dict[str, str]] = {
    RESERVATION_CONFIRMED: {"en": "Reservation confirmed", "ko": "예약 확정"},
    RESERVATION_CANCELLED: {"en": "Reservation cancelled", "ko": "예약 취소"},
    RESERVATION_RESCHEDULED: {"en": "Reservation moved", "ko": "예약 변경"},
    VACCINATION_RECORDED: {"en": "Vaccination recorded", "ko": "접종 완료"},
    RESERVATION_MISSED: {"en": "Missed reservation", "ko": "예약 미방문"},
    RESERVATION_REMINDER: {"en": "Vaccination reminder", "ko": "접종 예정 알림"},
    WAITLIST_JOINED: {"en": "On the waitlist", "ko": "대기 명단 등록"},
    WAITLIST_LEFT: {"en": "Left the waitlist", "ko": "대기 명단 해제"},
    CITIZEN_CODE: {"en": "Your login code", "ko": "인증번호 안내"},
}
GENERIC_SUBJECT = {"en": "Vaccination notice", "ko": "예방접종 안내"}


def subject(event: str, lang: object) -> str:
    subjects = SUBJECTS.get(event, GENERIC_SUBJECT)
    return subjects.get(lang if isinstance(lang, str) else DEFAULT_LANGUAGE, subjects[DEFAULT_LANGUAGE])
