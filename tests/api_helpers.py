"""The API under test (the `api` fixture in conftest.py): the app over the test's store through
FastAPI's TestClient, a token per role."""

import asyncio
import contextlib
import socket
from urllib.parse import urlsplit

from tests.helpers import future


class Api:
    def __init__(self, client, tokens: dict[str, str]):
        self.client = client
        self.tokens = tokens

    def auth(self, role: str = "admin", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **headers}

    def call(self, method: str, path: str, role: str = "admin", *, key: str | None = None, **kwargs):
        headers = self.auth(role, **({"Idempotency-Key": key} if key else {}))
        return self.client.request(method, path, headers=headers, **kwargs)

    def slot(self, quantity: int = 3, *, days: int = 7, hospital: str = "Seoul Clinic") -> dict:
        answer = self.call(
            "POST",
            "/v1/slots",
            json={"date": future(days), "hospital": hospital, "vaccine": "Janssen", "quantity": quantity},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()


def raw_connection(base: str, data: bytes) -> socket.socket:
    """A socket to the server at `base` that has sent `data`: bytes no HTTP client would send."""
    address = urlsplit(base)
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    sock.sendall(data)
    return sock


class Wire:
    """A connection as `vaxres serve`'s protocol sees it: what it writes, whether it closed."""

    def __init__(self) -> None:
        self.sent, self.closed = b"", False

    def write(self, data: bytes) -> None:
        self.sent += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default=None):
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def taken(self) -> bytes:
        """What was written since the last look."""
        sent, self.sent = self.sent, b""
        return sent


@contextlib.contextmanager
def served_connections(lanes=None, app=None):
    """A maker of connections to `vaxres serve`'s HTTP protocol (api/protocol.py), each a
    (protocol, wire), with `lanes` as the worker's admission, over one event loop that runs only
    when the test runs it: until then a request handed to `app` (by default one that does nothing)
    stays a task in `protocol.tasks`, not started."""
    import uvicorn
    from uvicorn.server import ServerState

    from vaxres.api.protocol import BoundedHttpTools

    loop = asyncio.new_event_loop()
    before = BoundedHttpTools.lanes
    BoundedHttpTools.lanes = lanes
    config = uvicorn.Config(app or (lambda scope, receive, send: None), log_config=None, log_level="critical")
    state = ServerState()

    def connect():
        protocol = BoundedHttpTools(config=config, server_state=state, app_state={}, _loop=loop)
        wire = Wire()
        protocol.connection_made(wire)
        return protocol, wire

    connect.loop = loop  # type: ignore[attr-defined]
    try:
        yield connect
    finally:
        BoundedHttpTools.lanes = before
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()


@contextlib.contextmanager
def served_protocol(lanes=None):
    """One connection of served_connections."""
    with served_connections(lanes) as connect:
        yield connect()
