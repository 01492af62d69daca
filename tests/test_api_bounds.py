"""What a request may weigh (vaxres/api/bounds.py): a body over 64 KiB (a page's form over 4 KiB)
is 413 before it is read, or cut off as it streams; a long path or query 414; large headers 431;
each a problem+json (the page: a page in its language) and the connection closed. A real
`vaxres serve` shows the answer comes while the client is still sending, and nothing is a 500."""

import contextlib
import json
import socket

import httpx
import pytest

from tests.api_helpers import raw_connection, served_protocol
from tests.helpers import query
from tests.test_api_race import serving
from vaxres.api.bounds import MAX_BODY, MAX_FORM, MAX_HEAD, MAX_TARGET, SERVER_HEAD

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SITE = {"Origin": "http://testserver"}


def person_body(size: int) -> bytes:
    """A JSON person of exactly `size` bytes (padded with spaces, which JSON ignores)."""
    body = json.dumps({"id": "kim", "name": "Kim"}).encode()
    return body[:-1] + b" " * (size - len(body)) + b"}"


def assert_problem(answer, status: int, code: str, said: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["connection"] == "close"
    problem = answer.json()
    assert (problem["status"], problem["code"]) == (status, code)
    assert said in problem["detail"] and "\n" not in problem["detail"]


@pytest.mark.usefixtures("backend")
def test_a_body_at_the_limit_is_taken_one_byte_more_is_413_and_nothing_is_written(api, db_path):
    headers = api.auth("operator", **{"Content-Type": "application/json"})
    at_limit = api.client.post("/v1/people", headers=headers, content=person_body(MAX_BODY))
    assert at_limit.status_code == 201, at_limit.text
    over = api.client.post("/v1/people", headers=headers, content=person_body(MAX_BODY + 1).replace(b"kim", b"lee"))
    assert_problem(over, 413, "body_too_large", "larger than 65,536 bytes")
    streamed = api.client.post(  # no Content-Length: counted as it comes
        "/v1/people", headers=headers, content=iter([person_body(MAX_BODY + 1).replace(b"kim", b"lee")])
    )
    assert_problem(streamed, 413, "body_too_large", "send a smaller one")
    assert query(db_path, "SELECT id FROM person ORDER BY id") == [("kim",)]


def test_a_long_address_is_414_and_large_headers_431(api):
    long_query = api.call("GET", "/v1/slots?hospital=" + "a" * MAX_TARGET, role="reader")
    assert_problem(long_query, 414, "uri_too_long", "longer than 4,096 bytes")
    long_id = api.call("GET", "/v1/people/" + "a" * MAX_TARGET, role="reader")
    assert_problem(long_id, 414, "uri_too_long", "send a shorter one")
    headers = api.auth("reader", **{f"X-Filler-{n}": "a" * 1000 for n in range(MAX_HEAD // 1000)})
    assert_problem(api.client.get("/v1/slots", headers=headers), 431, "headers_too_large", "16,384 bytes")
    key = api.call("POST", "/v1/people", role="operator", key="k" * 8000, json={"id": "kim"})
    assert key.status_code == 422 and key.json()["code"] == "invalid_input"  # the key's own bound: 255
    assert key.json()["detail"] == "Idempotency-Key must be 1 to 255 printable ASCII characters, got 8,000"


def test_a_form_over_its_limit_gets_the_page_in_its_language(api):
    form = {"person": "kim", "birth_date": "a" * MAX_FORM}
    korean = api.client.post("/login", data=form, headers=SITE)
    assert korean.status_code == 413 and korean.headers["content-type"].startswith("text/html")
    assert "요청이 너무 큽니다" in korean.text and "4,096바이트" in korean.text
    english = api.client.post("/verify", data=form, headers={**SITE, "Accept-Language": "en-GB,en"})
    assert english.status_code == 413 and "The form sent is over 4,096 bytes" in english.text
    assert english.headers["content-security-policy"].startswith("default-src 'none'")
    assert (
        api.client.post("/login", data={"person": "kim", "birth_date": "1990-05-12"}, headers=SITE).status_code == 202
    )


def test_the_openapi_schema_says_every_call_may_answer_413_414_431(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/v1/people", "/v1/citizen/login", "/v1/reservations"):
        answers = paths[path]["post"]["responses"]
        assert {"413", "414", "431"} <= set(answers), path
        assert answers["413"]["content"]["application/problem+json"]["schema"]["required"][3] == "code"


def _answer(sock: socket.socket) -> bytes:
    """All the server sends until it closes the connection."""
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


@pytest.mark.slow
def test_a_real_server_answers_413_before_the_body_is_sent_and_closes():
    with serving() as (base, auth):
        token = auth["Authorization"].encode()
        head = (
            b"POST /v1/people HTTP/1.1\r\nHost: x\r\nAuthorization: "
            + token
            + b"\r\nContent-Type: application/json\r\n"
        )
        # A gigabyte announced, not a byte of it sent: answered, and the connection closed.
        with raw_connection(base, head + b"Content-Length: 1073741824\r\n\r\n") as sock:
            answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 413 ") and b'"code":"body_too_large"' in answer
        # Chunked: one byte over the limit sent, never the last chunk: answered, and closed, all the same.
        with raw_connection(base, head + b"Transfer-Encoding: chunked\r\n\r\n") as sock:
            for _ in range(MAX_BODY // 8192):
                sock.sendall(b"2000\r\n" + b" " * 8192 + b"\r\n")
            sock.sendall(b"1\r\n \r\n")
            answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()

        # httpx streaming a body of up to 1 GiB: the server stops reading after the limit; what is
        # sent is at most what the sockets' buffers held when it closed. The client reads the 413, or
        # (when the server's close resets a connection still sending) sees the connection reset.
        sent = 0

        def endless():
            nonlocal sent
            for _ in range(1 << 14):
                sent += 65536
                yield b" " * 65536

        try:
            streamed = httpx.post(f"{base}/v1/people", headers=auth, content=endless(), timeout=30)
            assert streamed.status_code == 413 and streamed.json()["code"] == "body_too_large"
        except httpx.TransportError:
            pass
        assert sent < 64 * 1024 * 1024, sent

        json_type = {**auth, "Content-Type": "application/json"}
        small = httpx.post(f"{base}/v1/people", headers=json_type, content=person_body(MAX_BODY - 1))
        assert small.status_code == 201, small.text
        page = httpx.post(f"{base}/login", headers={"Origin": base}, content=b"person=" + b"a" * MAX_FORM)
        assert page.status_code == 413 and "요청이 너무 큽니다" in page.text
        # A head past what the server holds (api/protocol.py) is cut off by it with the 431 problem.
        sent, answer = 0, b""
        with raw_connection(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ") as sock:
            try:
                while sent < 64 << 20:
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            except OSError:  # reset: the server closed on it
                pass
            with contextlib.suppress(OSError):
                answer = _answer(sock)
        assert sent < 64 << 20, sent
        if answer:  # else the server's close reset the connection while it was still sending
            assert answer.startswith(b"HTTP/1.1 431 ") and b'"code":"headers_too_large"' in answer, answer[:200]
        # The same head sent in small pieces, slowly growing past the bound, then nothing more.
        with raw_connection(base, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") as sock:
            for n in range(SERVER_HEAD // 1000 + 1):
                sock.sendall(f"X-Filler-{n}: ".encode() + b"a" * 990 + b"\r\n")
            answer = _answer(sock)
        assert answer.startswith(b"HTTP/1.1 431 ") and b"connection: close" in answer.lower(), answer[:200]
        # Many requests on one kept-alive connection, bodies and all, are not a head growing.
        with httpx.Client(base_url=base, headers=json_type) as client:
            for n in range(40):
                body = person_body(MAX_BODY - 1).replace(b"kim", f"k{n:02d}".encode())
                assert client.post("/v1/people", content=body).status_code == 201
        assert httpx.get(f"{base}/healthz").status_code == 200


def _served_in_one_read(request: bytes) -> bytes:
    """What `vaxres serve`'s HTTP protocol (api/protocol.py) answers a request arriving whole in one read."""
    with served_protocol() as (protocol, wire):
        protocol.data_received(request)
    assert wire.closed
    return wire.sent


def test_what_is_not_http_and_a_target_past_the_parsers_64_kib_are_problems_too():
    """httptools cannot parse a target over 64 KiB: one that comes in a single read is the 414
    a shorter one gets, not its plain-text 400; bytes that are not HTTP are a 400 problem."""
    head, body = _served_in_one_read(b"GET /v1/people/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n").split(
        b"\r\n\r\n", 1
    )
    assert head.startswith(b"HTTP/1.1 414 ") and b"content-type: application/problem+json" in head
    assert json.loads(body)["code"] == "uri_too_long" and "4,096 bytes" in json.loads(body)["detail"]
    for junk in (b"GARBAGE\r\n\r\n", b"GET /v1/slots HTTP/1.1\r\nBad Name: v\r\n\r\n"):
        head, body = _served_in_one_read(junk).split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 400 ") and b"connection: close" in head
        assert json.loads(body) | {"detail": ""} == {
            "type": "urn:vaxres:problem:bad_request",
            "title": "Bad request",
            "status": 400,
            "code": "bad_request",
            "detail": "",
        }
