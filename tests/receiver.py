"""A webhook receiver on 127.0.0.1 for the delivery tests: records every request and answers
what the test scripts (a status, headers, a delay), per request."""

import http.server
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Received:
    webhook_id: str
    headers: dict
    body: dict
    raw: bytes
    status: int


@dataclass
class Receiver:
    """`answer(request_number, webhook_id) -> (status, headers, delay seconds)`; default 204 at once."""

    answer: Callable[[int, str], tuple[int, dict, float]] = lambda n, wid: (204, {}, 0.0)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                wid = self.headers.get("webhook-id", "")
                with receiver.lock:
                    number = len(receiver.received) + 1
                    status, headers, delay = receiver.answer(number, wid)
                    receiver.received.append(Received(wid, dict(self.headers), json.loads(raw), raw, status))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered_ids(self) -> list[str]:
        with self.lock:
            return [r.webhook_id for r in self.received if 200 <= r.status < 300]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
