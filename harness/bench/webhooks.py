"""7. Webhook latency (`--latency`): events from commit to receipt by a local HTTP endpoint, with
a `crm-sla deliver` worker running."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from harness import deliver
from harness.bench.common import Row, latency_row
from harness.bench.lab import Lab
from harness.errors import HarnessError


def endpoint(arrived: dict[int, float]) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1 noting when each event (by outbox id) arrived."""

    class Endpoint(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            at = time.time()
            self.rfile.read(int(self.headers["content-length"]))
            arrived[int(self.headers["webhook-id"].split(".")[1])] = at
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    Thread(target=server.serve_forever, daemon=True).start()
    return server


def measure(lab: Lab) -> list[Row]:
    """Leads inserted one a statement, a few dozen a second, each an `assigned` event that a
    `crm-sla deliver` worker (a thread here) POSTs to the endpoint: the time from the INSERT's
    commit to the request's arrival."""
    n = lab.sizes.webhook_events
    arrived: dict[int, float] = {}
    lab.reset()
    server = endpoint(arrived)
    # The endpoint is on 127.0.0.1, which the deliverer refuses unless the settings allow it.
    lab.db.execute("update public.crm_sla_settings set webhook_allow_private = true")
    lab.db.execute("insert into public.crm_sla_webhooks (url) values (%s)",
                   (f"http://127.0.0.1:{server.server_address[1]}/",))
    worker = deliver.Worker(lab.url)
    thread = Thread(target=worker.run, kwargs={"report": lambda _m: None}, daemon=True)
    thread.start()
    committed: dict[int, float] = {}
    try:
        time.sleep(0.5)  # the worker is listening
        for i in range(n):
            if i % 100 == 0:
                lab.report(f"webhooks: {n} events, one a statement: event {i + 1}")
            lab.db.execute(
                "insert into public.crm_leads (assigned_agent_id, full_name) values (%s, %s)",
                (lab.agents[i % len(lab.agents)], f"Lead {i}"))
            committed[lab.db.execute("select max(id) from public.crm_sla_outbox"
                                     ).fetchone()[0]] = time.time()
            time.sleep(0.03)
        deadline = time.monotonic() + 30
        while len(arrived) < n and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stopping = True
        lab.db.execute("select pg_notify('crm_sla', '{}')")
        thread.join(15)
        server.shutdown()
        server.server_close()
        lab.db.execute("delete from public.crm_sla_webhooks")
        lab.db.execute("update public.crm_sla_settings set webhook_allow_private = false")
        lab.reset()
    waits = [arrived[i] - t for i, t in committed.items() if i in arrived]
    if len(waits) < n:
        raise HarnessError(f"only {len(waits)} of {n} webhooks arrived")
    return [latency_row("webhook_latency", "7 webhook latency (crm-sla deliver)", waits,
                        f"{n} events, commit to receipt", 1.0, {"events": n})]
