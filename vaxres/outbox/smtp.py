"""E-mail delivery: each message to a person as one e-mail to the address in its contact.

The mail holds the person's own data only: their name and address, a subject and the readable
message in their language. Its Message-ID is the same on every attempt, so a receiver can drop a
copy. A message nobody can be e-mailed (a broadcast, a person without an address) fails at once.

The server's answer decides the outcome: a refused recipient or message (5xx) fails the message;
a connection that fails, times out or closes, or a 4xx, retries it; a refused login or sender, an
untrusted certificate, a server without STARTTLS or AUTH are the target's fault, not the
message's (UNAVAILABLE: nothing is counted against it). smtplib is not thread-safe: each send
takes a connection of its own from a pool (so at most one per worker), kept open between
messages and closed with QUIT at the end.
"""

from __future__ import annotations

import contextlib
import email.utils
import smtplib
import socket
import ssl
import threading
import time
from email.headerregistry import Address
from email.message import EmailMessage
from typing import TYPE_CHECKING

from vaxres.outbox.credentials import Scrubber
from vaxres.outbox.outcome import DELIVERED, FAILED, RETRY, UNAVAILABLE, Outcome
from vaxres.outbox.smtp_target import PASSWORD_ENV, SmtpTarget, parse_target
from vaxres.outbox.templates import subject

if TYPE_CHECKING:
    from typing_extensions import Buffer

    from vaxres.outbox.model import OutboxRecord

# smtplib answers these with RSET: the connection serves the next message.
_TRANSACTION_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def _unwrapped(exc: Exception) -> Exception:
    """smtplib reports a read that failed (a timeout, a reset) as SMTPServerDisconnected: the failure itself."""
    if isinstance(exc, smtplib.SMTPServerDisconnected) and isinstance(exc.__context__, OSError):
        return exc.__context__
    return exc


def _closed(exc: Exception) -> bool:
    """The server had closed the connection, or closes it now (421: an idle one timed out)."""
    closing = isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == 421
    return closing or isinstance(_unwrapped(exc), (smtplib.SMTPServerDisconnected, ConnectionError))


def open_smtp(url: str, *, connect_timeout: float, read_timeout: float, lease: float | None) -> SmtpSink:
    return SmtpSink(parse_target(url), url, connect_timeout=connect_timeout, read_timeout=read_timeout, lease=lease)


def message_id(message: OutboxRecord, sender: str) -> str:
    """Stable across retries of the same message: receivers deduplicate on it."""
    return f"<msg_vaxres_{message.id}@{sender.rpartition('@')[2]}>"


def recipient(message: OutboxRecord) -> tuple[str, str] | str:
    """(name, address) to write to, or why there is nobody to e-mail."""
    contact = message.payload.get("contact") if isinstance(message.payload, dict) else None
    if not isinstance(contact, dict):
        if message.recipient == "*":
            return "a message for everyone has no person to e-mail"
        return f"the message to {message.recipient} carries no contact to e-mail"
    address = contact.get("email")
    if not isinstance(address, str) or not address:
        return f"person {message.recipient} has no e-mail address"
    name = contact.get("name")
    return (name if isinstance(name, str) else "", address)


def compose(message: OutboxRecord, sender: str, name: str, address: str) -> EmailMessage:
    """One plain-text e-mail in UTF-8, base64: any server carries it intact, 8BITMIME or not."""
    text = message.payload.get("message")
    if not isinstance(text, str) or not text:
        raise ValueError(f"message {message.id} has no readable text")
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = Address(display_name=name, addr_spec=address)
    mail["Subject"] = subject(message.event, message.payload.get("lang"))
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["Message-ID"] = message_id(message, sender)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a notice
    mail["X-Vaxres-Event"] = message.event
    mail.set_content(text + "\n", cte="base64")
    return mail


class _Client(smtplib.SMTP):
    """An smtplib connection whose every wait ends by the deadline of the message in hand."""

    at = float("inf")
    read_timeout = 10.0
    _host: str  # smtplib's: the name TLS checks the certificate against, set by __init__ only

    def _bound(self) -> None:
        if self.sock is None:
            return
        left = self.at - time.monotonic()
        if left <= 0:
            raise TimeoutError("the message's deadline has passed")
        self.sock.settimeout(min(self.read_timeout, left))

    def send(self, s: Buffer | str) -> None:
        self._bound()
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        self._bound()
        return super().getreply()


class _TlsClient(_Client, smtplib.SMTP_SSL):
    pass


class _Opening(Exception):
    """What went wrong while opening a connection, and at which step."""

    def __init__(self, step: str, error: Exception):
        super().__init__(step)
        self.step, self.error = step, error


class SmtpSink:
    def __init__(
        self, target: SmtpTarget, url: str, *, connect_timeout: float, read_timeout: float, lease: float | None
    ):
        self.target = target
        self.name = target.name
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        total = connect_timeout + read_timeout
        self.deadline = total if lease is None else min(total, lease / 2)
        self._scrub = Scrubber(target.secrets, url)
        self._context = ssl.create_default_context() if target.tls or target.starttls else None
        self._lock = threading.Lock()
        self._idle: list[_Client] = []
        self._open: set[_Client] = set()
        self._hostname: str | None = None

    def send(self, message: OutboxRecord) -> Outcome:
        found = recipient(message)
        if isinstance(found, str):
            return Outcome(FAILED, found)
        try:
            mail = compose(message, self.target.sender, *found)
        except ValueError as exc:  # no text, or an address no header can hold
            return Outcome(FAILED, f"cannot write the e-mail: {exc}")
        address = found[1]
        at = time.monotonic() + self.deadline
        with self._lock:
            client = self._idle.pop() if self._idle else None
        if client is not None:
            client.at = at
            outcome = self._send_on(client, mail, address, kept=True)
            if outcome is not None:
                return outcome
        try:
            client = self._connect(at)
        except _Opening as failed:
            return self._outcome(failed.error, failed.step, address, at)
        return self._send_on(client, mail, address, kept=False) or Outcome(RETRY, f"{self.name} closed the connection")

    def _send_on(self, client: _Client, mail: EmailMessage, address: str, *, kept: bool) -> Outcome | None:
        """The outcome, or None when a kept connection turns out closed (servers close idle ones):
        the caller tries once more on a new one."""
        try:
            client.send_message(mail, self.target.sender, [address])
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, _TRANSACTION_REFUSED) and client.sock is not None:
                self._keep(client)
                return self._outcome(exc, "send", address, client.at)
            self._drop(client)
            if kept and _closed(exc):
                return None
            return self._outcome(exc, "send", address, client.at)
        self._keep(client)
        return Outcome(DELIVERED)

    def _connect(self, at: float) -> _Client:
        if self._hostname is None:
            self._hostname = socket.getfqdn()  # what smtplib would look up for every connection
        client = (
            _TlsClient(local_hostname=self._hostname, context=self._context)
            if self.target.tls
            else _Client(local_hostname=self._hostname)
        )
        client.at, client.read_timeout = at, self._read_timeout
        client._host = self.target.host
        client.timeout = max(min(self._connect_timeout, at - time.monotonic()), 0.001)
        with self._lock:
            self._open.add(client)
        step = "connect"
        try:
            code, reply = client.connect(self.target.host, self.target.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            client.ehlo_or_helo_if_needed()
            if self.target.starttls:
                step = "starttls"
                client.starttls(context=self._context)
                client.ehlo_or_helo_if_needed()
            if self.target.user is not None and self.target.password is not None:
                step = "login"
                client.login(self.target.user, self.target.password)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop(client)
            # smtplib answers a greeting that never came with SMTPServerDisconnected; only the TCP
            # connect (and the TLS handshake of smtps://) raises anything else.
            tcp = step == "connect" and not isinstance(exc, smtplib.SMTPException)
            raise _Opening("tcp" if tcp else step, exc) from None
        return client

    def _outcome(self, exc: Exception, step: str, address: str, at: float) -> Outcome:
        """What the server's answer, or its silence, means for the message."""
        name = self.name
        exc = _unwrapped(exc)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return Outcome(UNAVAILABLE, f"{name} shows a certificate this machine does not trust: {exc.verify_message}")
        if isinstance(exc, TimeoutError):
            if time.monotonic() >= at:
                return Outcome(RETRY, f"no complete answer from {name} within {self.deadline:g} s")
            if step == "tcp":
                return Outcome(RETRY, f"connecting to {name} timed out after {self._connect_timeout:g} s")
            return Outcome(RETRY, f"no answer from {name} within {self._read_timeout:g} s")
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code, reply = exc.recipients.get(address) or next(iter(exc.recipients.values()))
            return self._answered(code, f"{name} refused {address}: {code} {self._text(reply)}", refused=FAILED)
        if isinstance(exc, smtplib.SMTPSenderRefused):
            said = f"{name} refused the sender {self.target.sender}: {exc.smtp_code} {self._text(exc.smtp_error)}"
            return self._answered(exc.smtp_code, said, refused=UNAVAILABLE)
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            said = f"{name} refused the login of {self.target.user}: {exc.smtp_code} {self._text(exc.smtp_error)}"
            return self._answered(exc.smtp_code, f"{said}; check the user and {PASSWORD_ENV}", refused=UNAVAILABLE)
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            if step == "starttls":
                return Outcome(UNAVAILABLE, f"{name} does not offer STARTTLS")
            if step == "login":
                hint = "" if self.target.tls or self.target.starttls else " (many offer it only after STARTTLS)"
                return Outcome(UNAVAILABLE, f"{name} does not offer a login (AUTH){hint}")
            return Outcome(FAILED, f"{name} cannot take {address}: {self._text(str(exc))}")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return Outcome(RETRY, f"{name} closed the connection")
        if isinstance(exc, smtplib.SMTPResponseException):
            said = f"{name} answered {exc.smtp_code} {self._text(exc.smtp_error)}"
            return self._answered(exc.smtp_code, said, refused=FAILED if step == "send" else UNAVAILABLE)
        if isinstance(exc, smtplib.SMTPException):  # no code: "No suitable authentication method found."
            return Outcome(UNAVAILABLE if step == "login" else RETRY, f"{name}: {self._text(str(exc))}")
        if isinstance(exc, ssl.SSLError):
            return Outcome(RETRY, f"TLS with {name} failed: {self._text(exc.reason or str(exc))}")
        assert isinstance(exc, OSError)
        return Outcome(RETRY, f"cannot reach {name}: {type(exc).__name__}: {self._text(exc.strerror or str(exc))}")

    @staticmethod
    def _answered(code: int, said: str, *, refused: str) -> Outcome:
        """4xx: try again later; 530 (a login is needed): the target's setting; other 5xx: `refused`."""
        if code == 530:
            return Outcome(UNAVAILABLE, f"{said}; the server wants a login: smtp://USER@HOST and {PASSWORD_ENV}")
        return Outcome(RETRY if 400 <= code < 500 else refused, said)

    def _text(self, reply: bytes | str) -> str:
        """The server's own words: one line, no credential, at most 300 characters."""
        return " ".join(self._scrub(reply).split())[:300]

    def _keep(self, client: _Client) -> None:
        with self._lock:
            self._idle.append(client)

    def _drop(self, client: _Client) -> None:
        with self._lock:
            self._open.discard(client)
        with contextlib.suppress(OSError):
            client.close()

    def close(self) -> None:
        """QUIT every connection, each within the connect timeout; never raises."""
        with self._lock:
            clients, self._open, self._idle = list(self._open), set(), []
        for client in clients:
            client.at = time.monotonic() + self._connect_timeout
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                with contextlib.suppress(OSError):
                    client.close()
