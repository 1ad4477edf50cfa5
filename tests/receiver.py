"""A real HTTP endpoint for the webhook tests: a threaded server on 127.0.0.1 that checks every
request's Standard Webhooks signature (by hand, from the specification, and with the reference
library), records it, and answers as the test scripts it (status codes in turn, extra headers and
a body, a stall, or a 200 that then drips a byte every few seconds)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook


@dataclass
class Received:
    webhook_id: str
    timestamp: int
    body: bytes
    signature_ok: bool
    at: float  # time.time() when it arrived
    headers: dict[str, str]

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """v1,<base64 HMAC-SHA256 of id.timestamp.body> keyed with the secret's bytes; one each,
    space-separated, for several space-separated secrets."""
    signatures = []
    for each in secret.split():
        key = base64.b64decode(each.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(mac).decode())
    return " ".join(signatures)


class Receiver:
    def __init__(self):
        self.secrets: dict[str, str] = {}  # webhook id -> secret
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answers in turn; then 204
        self.stall_seconds = 0.0  # sleep this long before answering
        self.answer_headers: dict[str, str] = {}  # sent with every answer
        self.answer_body = b""
        self.drip_seconds = 0.0  # answer 200, then a byte this often for up to a minute
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver._record(self.headers, body)
                if receiver.stall_seconds:
                    time.sleep(receiver.stall_seconds)
                if receiver.drip_seconds:
                    self._drip()
                    return
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                for name, value in receiver.answer_headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)

            def _drip(self):
                self.send_response(200)
                self.send_header("content-length", "1000")
                self.end_headers()
                try:
                    for _ in range(int(60 / receiver.drip_seconds)):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(receiver.drip_seconds)
                except OSError:
                    pass  # the deliverer hung up

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/sla"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _record(self, headers, body: bytes) -> None:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        secret = self.secrets.get(msg_id.split(".")[0], "")
        ok = bool(secret) and headers["webhook-signature"] == expected_signature(
            secret, msg_id, timestamp, body)
        for each in secret.split() if ok else ():  # and the reference library agrees
            Webhook(each).verify(body, {k: headers[k] for k in (
                "webhook-id", "webhook-timestamp", "webhook-signature")})
        with self._lock:
            self.received.append(Received(msg_id, int(timestamp), body, ok, time.time(),
                                          {k.lower(): v for k, v in headers.items()}))
        self.arrived.set()

    def wait_for(self, count: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self._lock:
            return list(self.received)

    def close(self) -> None:
        """Stops listening (its port then refuses connections); safe to call twice."""
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(5)
