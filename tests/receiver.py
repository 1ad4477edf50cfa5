"""A real HTTP endpoint for the webhook tests: a threaded server on 127.0.0.1 that checks every
request's Standard Webhooks signature (by hand, from the specification, and with the reference
library), records it, and answers as the test scripts it (status codes in turn, or a stall)."""

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

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """v1,<base64 HMAC-SHA256 of id.timestamp.body> keyed with the secret's bytes."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Receiver:
    def __init__(self):
        self.secrets: dict[str, str] = {}  # webhook id -> secret
        self.received: list[Received] = []
        self.statuses: list[int] = []  # answers in turn; then 204
        self.stall_seconds = 0.0  # sleep this long before answering
        self.arrived = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver._record(self.headers, body)
                if receiver.stall_seconds:
                    time.sleep(receiver.stall_seconds)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

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
        if ok:  # and the reference library agrees
            Webhook(secret).verify(body, {k: headers[k] for k in (
                "webhook-id", "webhook-timestamp", "webhook-signature")})
        with self._lock:
            self.received.append(Received(msg_id, int(timestamp), body, ok, time.time()))
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
