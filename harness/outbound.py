"""The deliverer's HTTP client: each POST within one overall deadline, to checked addresses only.

httpx times each read on its own, so an endpoint that drips a byte every few seconds would hold a
POST for ever; and it resolves the host itself, so a check made beforehand could be undone by DNS
(rebinding). Here httpx runs on a network backend of ours: it resolves the host, refuses private,
loopback, link-local and metadata addresses (unless the settings allow them), connects to the very
address it checked, and bounds every connect, write and read by what is left of the POST's
deadline. Reads wait in short slices so that a stopping worker abandons a POST at once.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

import httpcore
import httpx

SLICE_SECONDS = 0.25  # the longest a read or write waits before looking at the deadline again

# Refused unless crm_sla_settings.webhook_allow_private: "this host", loopback, private (RFC 1918,
# unique local), link-local (the cloud metadata address 169.254.169.254 is one).
BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",
    "169.254.0.0/16", "::/128", "::1/128", "fc00::/7", "fe80::/10",
))


class Refused(Exception):
    """The endpoint's address is one the deliverer does not POST to."""


class Stopped(Exception):
    """The worker is stopping: the POST is abandoned."""


@dataclass
class Budget:
    """What one POST may use: until `deadline` (time.monotonic()), these addresses."""
    deadline: float
    allow_private: bool
    stopping: threading.Event

    def left(self, timeout_error: type[Exception]) -> float:
        if self.stopping.is_set():
            raise Stopped("the worker is stopping")
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise timeout_error("the deadline passed")
        return left


def blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in BLOCKED)


# Name lookups run here, so that a resolver that never answers costs a POST its deadline, not the
# worker its thread: getaddrinfo itself cannot be interrupted (a lookup past its deadline finishes
# in the background and is thrown away).
_RESOLVER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="crm-sla-resolve")


def _resolve(host: str, port: int, budget: Budget) -> list:
    lookup = _RESOLVER.submit(socket.getaddrinfo, host.strip("[]"), port,
                              type=socket.SOCK_STREAM)
    while True:
        left = budget.left(httpcore.ConnectTimeout)  # the stop flag, too
        try:
            return lookup.result(timeout=min(left, SLICE_SECONDS))
        except FutureTimeout:
            continue
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None


def checked_address(host: str, port: int, budget: Budget) -> str:
    """The address to connect to: the host's first, if none of its addresses is refused."""
    found = _resolve(host, port, budget)
    addresses = [info[4][0] for info in found]
    if not budget.allow_private:
        bad = [a for a in addresses if blocked(a)]
        if bad:
            raise Refused(f"{host} resolves to {bad[0]}, a private, loopback, link-local or "
                          "metadata address (crm_sla_settings.webhook_allow_private is false)")
    return addresses[0]


class _Stream(httpcore.NetworkStream):
    """A connection whose every operation waits at most what is left of the current budget."""

    def __init__(self, inner: httpcore.NetworkStream, backend: Backend):
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        while True:
            left = self._backend.budget().left(httpcore.ReadTimeout)
            try:
                return self._inner.read(max_bytes, min(left, SLICE_SECONDS))
            except httpcore.ReadTimeout:
                continue  # the deadline and the stop flag are looked at again above

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._backend.budget().left(httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> _Stream:
        left = self._backend.budget().left(httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._backend)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class Backend(httpcore.NetworkBackend):
    """Resolves and checks the host, then connects to that address; the budget is per thread
    (each POST runs in a thread of its own and sets it first)."""

    def __init__(self):
        self._local = threading.local()
        self._plain = httpcore.SyncBackend()

    def use(self, budget: Budget) -> None:
        self._local.budget = budget

    def budget(self) -> Budget:
        return self._local.budget

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        budget = self.budget()
        address = checked_address(host, port, budget)
        inner = self._plain.connect_tcp(address, port, budget.left(httpcore.ConnectTimeout),
                                        local_address, socket_options)
        return _Stream(inner, self)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise Refused("webhooks are POSTed over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def client(backend: Backend, parallel: int) -> httpx.Client:
    """An httpx client whose connections go through `backend` (no proxy from the environment,
    no redirects followed)."""
    transport = httpx.HTTPTransport()
    transport._pool = httpcore.ConnectionPool(  # httpx takes no network backend of its own
        ssl_context=httpx.create_ssl_context(), max_connections=parallel,
        network_backend=backend)
    return httpx.Client(transport=transport, follow_redirects=False, trust_env=False,
                        timeout=None)
