"""The observer: LISTEN and the webhook receiver, in a process of its own, so that the load
generator's threads do not delay what it times."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg


def observe(url: str, ready, stop, counts, out: str) -> None:
    """Records when each event's notification arrived (its commit) and each webhook POST."""
    arrivals: list[tuple[str, float]] = []

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the http.server API
            at = time.time()
            self.rfile.read(int(self.headers["content-length"]))
            arrivals.append((self.headers["webhook-id"], at))
            counts[1] += 1
            self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receipts: list[tuple[int, int, float]] = []  # first outbox id, last, arrival
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("listen crm_sla")
        ready.put(server.server_address[1])
        while not stop.is_set():
            for note in conn.notifies(timeout=0.5, stop_after=500):
                at = time.time()
                body = json.loads(note.payload)
                if body.get("event") == "batch":
                    receipts.append((body["first_outbox_id"], body["last_outbox_id"], at))
                    counts[0] += body["count"]
                elif "outbox_id" in body:
                    receipts.append((body["outbox_id"], body["outbox_id"], at))
                    counts[0] += 1
    server.shutdown()
    Path(out).write_text(json.dumps({"receipts": receipts, "arrivals": arrivals}))
