"""The lead board: a web page with a column per agent and a card per open lead, each counting down
its claim or contact window, kept live from the engine's `crm_sla` notifications."""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import uuid

from harness.errors import HarnessError
from harness.signals import stop_on_signals

DEFAULT_PORT = 8765


def serve(url: str, host: str, port: int, as_agent: uuid.UUID | None, demo: bool,
          token: str | None = None, allow_hosts: tuple[str, ...] = ()) -> int:
    from harness.board.app import (
        WILDCARDS,
        bind,
        check_token,
        is_loopback,
        make_server,
        resolve_identity,
    )
    from harness.target import connect

    check_token(host, token)
    if token is None:  # loopback: a fresh token for the agent actions, printed below
        token = secrets.token_urlsafe(24)
    identity = resolve_identity(url, as_agent)
    sock = bind(host, port)
    demo_proc = None
    if demo:
        with connect(url) as conn:
            open_leads = conn.execute(
                "select count(*) from public.crm_leads where not first_action_completed"
            ).fetchone()[0]
        if open_leads == 0:
            # An empty database: play the demo beside the board, so the page fills up live.
            demo_proc = subprocess.Popen(
                [sys.executable, "-m", "harness.cli", "simulate", "--minutes", "12"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            print("crm-sla board: no open leads yet, so `crm-sla simulate --minutes 12` is "
                  "playing the demo beside the board", flush=True)
    shown = socket.gethostname() if host in WILDCARDS else host
    shown = f"[{shown}]" if ":" in shown else shown
    who = "the service role (every lead)" if as_agent is None else \
        f"{identity.name} ({identity.role} {as_agent})"
    print(f"crm-sla board: http://{shown}:{sock.getsockname()[1]}/?token={token} reading as "
          f"{who}; Ctrl-C or SIGTERM stops it", flush=True)
    if not is_loopback(host):
        print("crm-sla board: reachable from the network; only those with the token can read "
              "it" + ("" if as_agent is None else " or act as the agent"), flush=True)
    server = make_server(url, identity, sock, token, (host, *allow_hosts))
    try:
        # uvicorn handles both signals while it runs, shuts down, then raises the one it got
        # again: stop_on_signals turns that into the KeyboardInterrupt caught here.
        with stop_on_signals():
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        print("crm-sla board: stopped", flush=True)
    finally:
        sock.close()
        if demo_proc is not None and demo_proc.poll() is None:
            demo_proc.terminate()
            demo_proc.wait(10)
    if not server.started:
        raise HarnessError("the board did not start (see the messages above)")
    return 0
