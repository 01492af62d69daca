"""`vaxres outbox deliver --to smtp://` against a real SMTP server (aiosmtpd) on 127.0.0.1: what
arrives, what the store records, STARTTLS with a login, and every bad target."""

import datetime as dt
import email
import email.policy
import json
import socket
import ssl
import subprocess
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.helpers import future, query
from vaxres.outbox import events, templates
from vaxres.outbox.model import OutboxRecord
from vaxres.outbox.sinks import open_sink

PASSWORD = "s3cret-pass%word"


@dataclass
class Mail:
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage
    session: tuple
    tls: bool
    authenticated: bool | None


@dataclass
class Handler:
    """Records every mail; refuses the recipients in `refuse` with the reply given there; with
    `close_second` ("421" or "eof"), closes a connection at its second MAIL, as a server closes an
    idle one."""

    refuse: dict = field(default_factory=dict)
    close_second: str | None = None
    mails: list = field(default_factory=list)
    transactions: dict = field(default_factory=dict)
    logins: list = field(default_factory=list)
    quits: int = 0

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((mechanism, auth_data.login.decode()))
        right = auth_data.login == b"vaxres" and auth_data.password == PASSWORD.encode()
        return AuthResult(success=right, handled=False)  # refused: the server answers 535

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        count = self.transactions[session.peer] = self.transactions.get(session.peer, 0) + 1
        if count == 2 and self.close_second is not None:
            server.transport.close()
            return "421 4.4.2 Idle for too long, closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        tls = session.ssl is not None
        self.mails.append(
            Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed, session.peer, tls, session.authenticated)
        )
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        self.quits += 1
        return "221 Bye"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    """start(**aiosmtpd options) -> (handler, port); every server is stopped after the test."""
    started = []

    def start(port=None, login=False, **options):
        handler = Handler()
        if login:
            options |= {"auth_required": True, "authenticator": handler.authenticate}
        controller = Controller(handler, hostname="127.0.0.1", port=port or free_port(), **options)
        controller.start()
        started.append(controller)
        return handler, controller.port

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def certificate(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted by vaxres through SSL_CERT_FILE."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context


def book(cli, *people):
    """A slot (its SlotRegistered goes to everyone), then one booking per person."""
    cli("slot", "add", "--date", future(), "--hospital", "서울대병원", "--vaccine", "Pfizer", "--quantity", "9")
    for person, *options in people:
        assert cli("person", "add", person, *options).exit_code == 0
        assert cli("reserve", "--user", person, "--slot", "1").exit_code == 0


def outbox(cli):
    return {(m["event"], m["recipient"]): m for m in cli.json("outbox", "list")}


def deliver(cli, target, *extra):
    return cli("outbox", "deliver", "--to", target, "--connect-timeout", "2", "--read-timeout", "2", *extra)


ALICE = ("alice", "--name", "앨리스", "--email", "alice@example.org", "--lang", "ko")


def test_each_persons_message_arrives_as_an_email_in_their_language(backend, cli, smtp_server):
    handler, port = smtp_server()
    book(cli, ALICE, ("bob", "--name", "Bob Lee", "--email", "bob@example.org", "--lang", "en"))
    result = deliver(cli, f"smtp://127.0.0.1:{port}?from=noreply@clinic.example", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Delivered 2 to smtp://127.0.0.1:{port}; 0 will be retried later; 1 failed for good.\n"
    listed = outbox(cli)
    alice = listed[("ReservationConfirmed", "alice")]
    mails = {mail.rcpt_tos[0]: mail for mail in handler.mails}
    assert sorted(mails) == ["alice@example.org", "bob@example.org"]
    mail = mails["alice@example.org"]
    assert mail.mail_from == "noreply@clinic.example"
    assert mail.message["From"] == "noreply@clinic.example"
    assert mail.message["To"] == "앨리스 <alice@example.org>"
    assert mail.message["Subject"] == "예약 확정"
    assert mail.message["Message-ID"] == f"<msg_vaxres_{alice['id']}@clinic.example>"
    assert mail.message["X-Vaxres-Event"] == "ReservationConfirmed"
    assert mail.message.get_content() == alice["payload"]["message"] + "\n"
    assert mail.message.get_content().startswith("예약 1번이 확정되었습니다: 서울대병원")
    assert mails["bob@example.org"].message["Subject"] == "Reservation confirmed"
    assert mails["bob@example.org"].message.get_content().startswith("Your reservation 2 is confirmed")
    # Nothing but the person's own data: no other person, no actor, no payload facts as headers.
    assert "bob" not in mail.message.as_string().lower()
    # One connection carried both (one worker), closed with QUIT.
    assert {m.session for m in handler.mails} == {mail.session} and handler.quits == 1
    assert alice["status"] == "delivered" and alice["attempts"] == 1
    broadcast = listed[("SlotRegistered", "*")]
    assert (broadcast["status"], broadcast["attempts"]) == ("failed", 1)
    assert broadcast["last_error"] == "a message for everyone has no person to e-mail"


def test_a_person_without_an_address_fails_at_once_and_is_never_retried(cli, smtp_server):
    handler, port = smtp_server()
    book(cli, ("bob", "--name", "Bob"), ALICE)
    assert cli("cancel", "1", "--user", "bob").exit_code == 0
    first = json.loads(deliver(cli, f"smtp://127.0.0.1:{port}", "--json").stdout)
    assert (first["delivered"], first["failed"], first["due"]) == (1, 3, 0)  # bob's two, and the broadcast
    again = json.loads(deliver(cli, f"smtp://127.0.0.1:{port}", "--json").stdout)
    assert (again["delivered"], again["failed"]) == (0, 0)
    listed = outbox(cli)
    for event in ("ReservationConfirmed", "ReservationCancelled"):
        message = listed[(event, "bob")]
        assert (message["status"], message["attempts"]) == ("failed", 1)
        assert message["last_error"] == "person bob has no e-mail address"
    assert [mail.rcpt_tos for mail in handler.mails] == [["alice@example.org"]]
    assert handler.mails[0].message["From"] == "vaxres@localhost"  # the default for a server named by address


def test_a_guardians_copy_reaches_the_guardian_by_email(cli, smtp_server):
    handler, port = smtp_server()
    cli("slot", "add", "--date", future(), "--hospital", "서울대병원", "--vaccine", "Pfizer", "--quantity", "9")
    kim = ("--name", "김민수", "--email", "kim@example.com", "--lang", "ko", "--birth-date", "1980-01-02")
    assert cli("person", "add", "kim", *kim).exit_code == 0
    assert cli("person", "add", "minji", "--name", "김민지", "--guardian", "kim").exit_code == 0
    assert cli("reserve", "--user", "minji", "--slot", "1").exit_code == 0
    assert deliver(cli, f"smtp://127.0.0.1:{port}").exit_code == 0
    [mail] = handler.mails
    assert (mail.rcpt_tos, mail.message["To"], mail.message["Subject"]) == (
        ["kim@example.com"],
        "김민수 <kim@example.com>",
        "예약 확정",
    )
    assert mail.message.get_content().startswith("[김민지 님의 보호자 안내] 예약 1번이 확정되었습니다")
    assert outbox(cli)[("ReservationConfirmed", "minji")]["last_error"] == "person minji has no e-mail address"


def test_a_server_that_is_down_leaves_the_message_pending_and_says_why(cli, smtp_server, time_machine):
    port = free_port()  # nobody listens there
    book(cli, ALICE)
    result = deliver(cli, f"smtp://127.0.0.1:{port}", "--backoff", "60")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Delivered 0 to smtp://127.0.0.1:{port}; 1 will be retried later;")
    message = outbox(cli)[("ReservationConfirmed", "alice")]
    assert (message["status"], message["attempts"]) == ("pending", 1)
    assert message["last_error"] == f"cannot reach smtp://127.0.0.1:{port}: ConnectionRefusedError: Connection refused"
    handler, _ = smtp_server(port=port)
    time_machine.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90))
    assert deliver(cli, f"smtp://127.0.0.1:{port}").stdout.startswith(f"Delivered 1 to smtp://127.0.0.1:{port};")
    assert [mail.rcpt_tos for mail in handler.mails] == [["alice@example.org"]]


def test_a_server_that_never_answers_is_cut_off_and_the_message_retried(cli):
    book(cli, ALICE)
    with socket.socket() as silent:  # accepts connections (the backlog) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        result = cli("outbox", "deliver", "--to", f"smtp://127.0.0.1:{port}", "--read-timeout", "0.3")
    assert result.exit_code == 0, result.stderr
    message = outbox(cli)[("ReservationConfirmed", "alice")]
    assert (message["status"], message["last_error"]) == (
        "pending",
        f"no answer from smtp://127.0.0.1:{port} within 0.3 s",
    )


@pytest.mark.parametrize(
    ("reply", "status"),
    [("550 5.1.1 No such user here", "failed"), ("450 4.2.1 Mailbox busy, try later", "pending")],
)
def test_a_refused_recipient_fails_for_good_only_on_a_permanent_reply(cli, smtp_server, reply, status):
    handler, port = smtp_server()
    handler.refuse["alice@example.org"] = reply
    book(cli, ALICE, ("carol", "--email", "carol@example.org"))
    assert deliver(cli, f"smtp://127.0.0.1:{port}", "--workers", "1").exit_code == 0
    message = outbox(cli)[("ReservationConfirmed", "alice")]
    assert (message["status"], message["attempts"]) == (status, 1)
    assert message["last_error"] == f"smtp://127.0.0.1:{port} refused alice@example.org: {reply}"
    # The connection goes on serving the others.
    assert [mail.rcpt_tos for mail in handler.mails] == [["carol@example.org"]]
    assert outbox(cli)[("ReservationConfirmed", "carol")]["status"] == "delivered"


@pytest.mark.parametrize("password_in", ["environment", "url"])
def test_starttls_then_login_and_the_password_is_never_shown(cli, smtp_server, certificate, monkeypatch, password_in):
    handler, port = smtp_server(tls_context=certificate, require_starttls=True, login=True)
    book(cli, ALICE)
    if password_in == "environment":
        monkeypatch.setenv("VAXRES_SMTP_PASSWORD", PASSWORD)
        target = f"smtp://vaxres@127.0.0.1:{port}?starttls=yes&from=noreply@clinic.example"
    else:
        target = f"smtp://vaxres:s3cret-pass%25word@127.0.0.1:{port}?starttls=yes&from=noreply@clinic.example"
    result = deliver(cli, target)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Delivered 1 to smtp://127.0.0.1:{port};")
    [mail] = handler.mails
    assert (mail.tls, mail.authenticated, mail.rcpt_tos) == (True, True, ["alice@example.org"])
    assert [login for _, login in handler.logins] == ["vaxres"]
    shown = result.stdout + result.stderr + json.dumps(cli.json("outbox", "list"))
    assert PASSWORD not in shown and "s3cret" not in shown


def test_a_refused_login_counts_nothing_against_the_messages_and_never_shows_the_password(
    cli, smtp_server, certificate, monkeypatch, db_path
):
    handler, port = smtp_server(tls_context=certificate, require_starttls=True, login=True)
    book(cli, ALICE)
    monkeypatch.setenv("VAXRES_SMTP_PASSWORD", "s3cret-wrong")
    result = deliver(cli, f"smtp://vaxres@127.0.0.1:{port}?starttls=yes")
    assert result.exit_code == 75
    assert result.stderr == (
        f"Error: smtp://127.0.0.1:{port} refused the login of vaxres: 535 5.7.8 Authentication credentials "
        f"invalid; check the user and VAXRES_SMTP_PASSWORD; 1 due messages wait as pending; try again later\n"
    )
    message = outbox(cli)[("ReservationConfirmed", "alice")]
    assert (message["status"], message["attempts"], message["last_error"]) == ("pending", 0, None)
    assert handler.mails == []
    stored = json.dumps(cli.json("outbox", "list")) + repr(query(db_path, "SELECT * FROM delivery_target"))
    assert "s3cret" not in result.stdout + result.stderr + stored


def test_an_untrusted_certificate_or_a_server_without_starttls_gets_nothing(cli, smtp_server, certificate, monkeypatch):
    _, tls_port = smtp_server(tls_context=certificate, require_starttls=True)
    plain, plain_port = smtp_server()
    book(cli, ALICE)
    monkeypatch.delenv("SSL_CERT_FILE")
    untrusted = deliver(cli, f"smtp://127.0.0.1:{tls_port}?starttls=yes")
    assert untrusted.exit_code == 75
    assert untrusted.stderr.startswith(
        f"Error: smtp://127.0.0.1:{tls_port} shows a certificate this machine does not trust: self-signed certificate;"
    )
    no_starttls = deliver(cli, f"smtp://127.0.0.1:{plain_port}?starttls=yes")
    assert no_starttls.exit_code == 75
    assert no_starttls.stderr.startswith(f"Error: smtp://127.0.0.1:{plain_port} does not offer STARTTLS;")
    assert plain.mails == []
    assert outbox(cli)[("ReservationConfirmed", "alice")]["attempts"] == 0


def test_smtps_speaks_tls_from_the_start(cli, smtp_server, certificate):
    handler, port = smtp_server(ssl_context=certificate)
    book(cli, ALICE)
    result = deliver(cli, f"smtps://127.0.0.1:{port}")
    assert result.exit_code == 0, result.stderr
    assert [mail.rcpt_tos for mail in handler.mails] == [["alice@example.org"]]


@pytest.mark.parametrize("close", ["421", "eof"])
def test_a_connection_the_server_closed_while_idle_is_opened_again(smtp_server, close):
    """A --watch dispatcher keeps its connection between messages; servers close idle ones."""
    handler, port = smtp_server()
    handler.close_second = close
    sink = open_sink(f"smtp://127.0.0.1:{port}")
    try:
        outcomes = [sink.send(message(1)), sink.send(message(2))]
    finally:
        sink.close()
    assert [outcome.kind for outcome in outcomes] == ["delivered", "delivered"]
    assert [m.message["Message-ID"] for m in handler.mails] == ["<msg_vaxres_1@localhost>", "<msg_vaxres_2@localhost>"]
    assert len({m.session for m in handler.mails}) == 2


def message(number: int) -> OutboxRecord:
    contact = {"name": "Ann", "phone": None, "email": "ann@example.org", "lang": "en"}
    payload = {"contact": contact, "message": f"Message {number}.", "lang": "en"}
    now = dt.datetime.now(dt.UTC)
    return OutboxRecord(number, events.RESERVATION_CONFIRMED, "ann", number, "in_flight", 0, now, payload)


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("smtp://", "it has no host; the form is smtp://[USER@]HOST[:PORT]"),
        ("smtp://host:notaport", "the port must be a number from 1 to 65535"),
        ("smtp://host:0", "the port must be a number from 1 to 65535"),
        ("smtp://host?starttls=maybe", "starttls must be yes or no, got 'maybe'"),
        ("smtp://host?from=bad", "from='bad' is not an e-mail address (an email address must have an @-sign)"),
        ("smtp://host?from=a@b.example&from=c@d.example", "from= is given twice"),
        ("smtp://host?token=s3cret", "unknown option 'token'; the options are starttls=yes|no and from=ADDRESS"),
        ("smtp://host/inbox", "an SMTP target has no path or #fragment"),
        ("smtps://host?starttls=yes", "smtps:// speaks TLS from the start; starttls= is for smtp://"),
        ("smtp://vaxres:s3cret@mail.example.org", "a login to mail.example.org would send the password in clear"),
        ("smtp://vaxres@mail.example.org?starttls=yes", "it names the user 'vaxres' but no password"),
    ],
)
def test_a_bad_target_is_one_line_exit_2_and_never_shows_a_secret(cli, target, error):
    result = cli("outbox", "deliver", "--to", target)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: --to '") and error in line, line
    assert "s3cret" not in result.stderr + result.stdout


def test_the_password_is_given_one_way_and_only_with_a_user(cli, monkeypatch):
    monkeypatch.setenv("VAXRES_SMTP_PASSWORD", "s3cret")
    both = cli("outbox", "deliver", "--to", "smtp://vaxres:other@mail.example.org?starttls=yes")
    assert both.exit_code == 2
    assert "carries a password and VAXRES_SMTP_PASSWORD is set too; give it one way only" in both.stderr
    nobody = cli("outbox", "deliver", "--to", "smtp://mail.example.org")
    assert nobody.exit_code == 2 and "VAXRES_SMTP_PASSWORD is set but the target names no user" in nobody.stderr
    assert "s3cret" not in both.stderr + nobody.stderr and "other" not in both.stderr


def test_every_event_a_person_receives_has_a_subject_in_each_language():
    for event in (*events.RESERVATION_EVENTS, *events.WAITLIST_EVENTS):
        if event not in events.RECORDED_ONLY:  # the audit trail's records are never delivered
            assert set(templates.SUBJECTS[event]) == {"en", "ko"}, event
    assert templates.subject("SomethingNew", "ko") == "예방접종 안내"
