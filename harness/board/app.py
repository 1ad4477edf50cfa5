"""`crm-sla board`: the lead board web app (Starlette on uvicorn).

Routes: `/` the page (`?team=<name or id>` shows one team; plain HTML, CSS and one script from
./static, no build step), `/stats` the managers' view (server-rendered, inline SVG charts;
`/api/stats` its numbers), `/events` the Server-Sent Events stream (a snapshot, then patches),
`/api/board` the same snapshot as JSON, and `POST /api/leads/{id}/claim` / `.../contact` /
`.../decline`, which call claim_lead / complete_first_action / decline_lead as the board's agent
and return the database's refusal (SQLSTATE, message, hint) when it says no.

Every request must name an allowed host (loopback names on a loopback bind, the bound host
otherwise: no DNS rebinding). The board's token (printed at start as `?token=...`, which the page
trades for a same-site cookie, or sent as `Authorization: Bearer`) is needed for the agent
actions on every bind, and for everything on a bind reachable from the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import socket
import uuid
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode

import psycopg
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from harness.board.hub import HEARTBEAT_SECONDS, Hub, Identity, as_identity
from harness.errors import HarnessError
from harness.target import connect, describe_db_error, redact

STATIC = Path(__file__).resolve().parent / "static"
ACTIONS = {"claim": "claim_lead", "contact": "complete_first_action", "decline": "decline_lead"}
CSRF_HEADER = "x-crm-sla-board"  # a header a cross-site form cannot send
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")  # Host headers a loopback bind accepts
WILDCARDS = ("", "0.0.0.0", "::")
MIN_TOKEN = 16
TOKEN_HINT = ("Open the address crm-sla board printed at start (it ends in ?token=...), or send "
              "Authorization: Bearer TOKEN.")
STATUS_BY_SQLSTATE = {"SL001": 404, "SL002": 403, "SL004": 403, "SL006": 403, "SL003": 409,
                      "SL005": 409, "SL007": 409}


def resolve_identity(url: str, agent_id: uuid.UUID | None) -> Identity:
    """Checks the database is ready for the board and finds who `agent_id` is."""
    with connect(url) as conn:
        if conn.execute("select to_regclass('public.crm_lead_sla_timers')").fetchone()[0] is None:
            raise HarnessError(
                f"the SLA engine is not installed in {redact(url)}: run make migrate first")
        if agent_id is None:
            try:
                with conn.transaction():
                    conn.execute("set local role service_role")
            except psycopg.Error:
                raise HarnessError(
                    "the board reads as service_role, and the user in DATABASE_URL may not "
                    "SET ROLE service_role: connect as the tables' owner (on Supabase, postgres)"
                ) from None
            return Identity()
        row = conn.execute(
            "select full_name, role, is_active from public.crm_agents where id = %s",
            (agent_id,)).fetchone()
    if row is None:
        raise HarnessError(f"no agent {agent_id} in crm_agents: pass the id of an agent")
    name, role, active = row
    if role == "system":
        raise HarnessError("the system actor owns no leads: pass the id of an agent")
    return Identity(agent_id, name + ("" if active else " (inactive)"), role)


def is_loopback(host: str) -> bool:
    """Whether a bind on `host` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def _host_header(name: str) -> str:
    return f"[{name}]" if ":" in name and not name.startswith("[") else name


def allowed_hosts(host: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The Host headers the board answers: loopback names on a loopback bind, the bound host
    otherwise (on a wildcard bind, this machine's names and addresses), plus `extra`."""
    if is_loopback(host):
        names = {*LOOPBACK_NAMES, host}
    elif host in WILDCARDS:
        names = {*LOOPBACK_NAMES, socket.gethostname(), socket.getfqdn()}
        with contextlib.suppress(OSError):
            names |= {i[4][0] for i in socket.getaddrinfo(socket.gethostname(), None)}
    else:
        names = {host}
    return sorted({_host_header(n.lower()) for n in (*names, *extra) if n})


def check_token(host: str, token: str | None) -> None:
    """A bind reachable from the network needs a token, and any token must be hard to guess."""
    if token is None and not is_loopback(host):
        raise HarnessError(
            f"--host {host or '(all)'} makes the board reachable from the network: pass --token "
            f"(at least {MIN_TOKEN} characters, or set CRM_SLA_BOARD_TOKEN), which every "
            "reader and every claim will need")
    if token is not None and len(token) < MIN_TOKEN:
        raise HarnessError(f"--token must be at least {MIN_TOKEN} characters long")


def cookie_name(port: int) -> str:
    """The board's cookie is named after its port: browsers send a host's cookies to all its
    ports, so two boards on one host (each with its own token) keep one cookie each."""
    return f"crm_sla_board_{port}"


class TokenGate:
    """ASGI middleware: finds the board's token in the request (its cookie, an Authorization
    header, or `?token=` on the page, traded for the cookie), records whether it matched in
    `request.state.token_ok`, and turns away requests without it when `everything` says so."""

    def __init__(self, app, token: str | None, everything: bool):
        self.app = app
        self.token = token
        self.everything = everything

    def _matches(self, given: str | None) -> bool:
        return bool(self.token and given) and secrets.compare_digest(
            given.encode(), self.token.encode())

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        cookie = cookie_name((scope.get("server") or ("", 0))[1])
        offered = parse_qs(scope.get("query_string", b"").decode()).get("token", [None])[0]
        if offered is not None and request.url.path == "/":
            if not self._matches(offered):
                await PlainTextResponse("wrong token: " + TOKEN_HINT, 401)(scope, receive, send)
                return
            # Trade the token in the address for a cookie this site alone sends back (the rest
            # of the address, e.g. ?team=..., stays).
            rest = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode())
                    if k != "token"]
            response = RedirectResponse("/" + (f"?{urlencode(rest)}" if rest else ""),
                                        status_code=303)
            response.set_cookie(cookie, offered, path="/", httponly=True, samesite="strict")
            await response(scope, receive, send)
            return
        # Starlette's lenient parser: http.cookies gives up on the whole header at the first
        # cookie it dislikes (a JSON value another app on this host set), losing ours too.
        bearer = request.headers.get("authorization", "")
        ok = self._matches(request.cookies.get(cookie)) or (
            bearer.startswith("Bearer ") and self._matches(bearer.removeprefix("Bearer ")))
        scope.setdefault("state", {})["token_ok"] = ok
        if self.everything and not ok:
            await _refusal(401, "this board needs its token", hint=TOKEN_HINT, code="token")(
                scope, receive, send)
            return
        await self.app(scope, receive, send)


def create_app(url: str, identity: Identity, host: str = "127.0.0.1", token: str | None = None,
               extra_hosts: tuple[str, ...] = ()) -> Starlette:
    check_token(host, token)
    state: dict[str, Hub] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        pool = AsyncConnectionPool(url, min_size=1, max_size=4, open=False, name="crm-sla-board",
                                   kwargs={"autocommit": True, "connect_timeout": 10})
        await pool.open(wait=True, timeout=30)
        hub = Hub(url, pool, identity)
        try:
            await hub.start()
            state["hub"] = hub
            yield
        finally:
            await hub.stop()
            await pool.close()

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def board(_request: Request) -> Response:
        return JSONResponse(state["hub"].snapshot())

    async def events(request: Request) -> Response:
        hub = state["hub"]
        queue = hub.subscribe()
        first = json.dumps(hub.snapshot(), separators=(",", ":"))

        async def stream():
            try:
                yield f"retry: 1000\nevent: message\ndata: {first}\n\n"
                while True:
                    try:
                        text = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    if text is None:
                        return  # the board is stopping, or this page fell behind
                    yield f"data: {text}\n\n"
            finally:
                hub.unsubscribe(queue)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def stats(request: Request) -> Response:
        """The managers' view: the report's numbers and two charts, read as the board's identity
        (an agent's board shows only that agent's numbers)."""
        from harness.board.stats import BUCKETS, period_bounds, render_page
        from harness.report import PERIODS, figures_async

        hub = state["hub"]
        period = period_bounds(request.query_params.get("period"))
        zone = request.query_params.get("tz") or "UTC"
        try:
            async with as_identity(hub.pool, hub.identity) as conn:
                to = (await (await conn.execute("select public.sla_now() as t")).fetchone())["t"]
                data = await figures_async(conn, to - PERIODS[period], to, zone,
                                           BUCKETS[period])
        except psycopg.Error as exc:
            return _refusal(400, exc.diag.message_primary or describe_db_error(exc),
                            code=exc.diag.sqlstate, hint=exc.diag.message_hint)
        if request.url.path.startswith("/api/"):
            return JSONResponse(data)
        return HTMLResponse(render_page(data, period, hub.identity.name),
                            headers={"Cache-Control": "no-cache"})

    async def act(request: Request) -> Response:
        hub = state["hub"]
        action = request.path_params["action"]
        if action not in ACTIONS:
            return _refusal(404, f"no action {action!r}: use claim, contact or decline",
                            code="not-found")
        if request.headers.get(CSRF_HEADER) != "1":
            return _refusal(403, "missing the board's request header", code="forbidden")
        if not request.state.token_ok:
            return _refusal(401, "claims and first actions need the board's token",
                            hint=TOKEN_HINT, code="token")
        if hub.identity.agent_id is None:
            return _refusal(403, "the service view is read-only",
                            hint="Start the board with --as-agent UUID to act as an agent.",
                            code="read-only")
        try:
            lead_id = uuid.UUID(request.path_params["lead_id"])
        except ValueError:
            return _refusal(400, "not a lead id", code="bad-request")
        try:
            async with as_identity(hub.pool, hub.identity) as conn:
                await conn.execute(f"select public.{ACTIONS[action]}(%s)", (lead_id,))
        except psycopg.Error as exc:
            diag = exc.diag
            return _refusal(
                STATUS_BY_SQLSTATE.get(diag.sqlstate or "", 400 if diag.sqlstate else 500),
                diag.message_primary or describe_db_error(exc), code=diag.sqlstate,
                detail=diag.message_detail, hint=diag.message_hint)
        return JSONResponse({"ok": True, "lead_id": str(lead_id), "action": action})

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/board", board),
            Route("/stats", stats),
            Route("/api/stats", stats),
            Route("/events", events),
            Route("/api/leads/{lead_id}/{action:str}", act, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts(host, extra_hosts)),
            Middleware(TokenGate, token=token, everything=not is_loopback(host)),
        ],
        lifespan=lifespan,
    )


def _refusal(status: int, message: str, code: str | None = None, detail: str | None = None,
             hint: str | None = None) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"code": code, "message": message,
                                                "detail": detail, "hint": hint}},
                        status_code=status)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound up front so a busy port is one clear line (port 0: any free
    one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise HarnessError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another with --port"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_server(url: str, identity: Identity, sock: socket.socket, token: str | None,
                extra_hosts: tuple[str, ...] = ()):
    """The board's server on `sock`; `token` None (loopback only) leaves the actions refused."""
    import uvicorn

    host = sock.getsockname()[0]
    config = uvicorn.Config(create_app(url, identity, host, token, extra_hosts),
                            log_level="warning",
                            access_log=False, timeout_graceful_shutdown=1, lifespan="on")
    return uvicorn.Server(config)
