"""The embedded PostgreSQL cluster: used whenever DATABASE_URL is unset.

It lives in a git-ignored folder of the repository (installed from a wheel: of
~/.local/share/crm-sla, see harness/paths.py), listens only on 127.0.0.1 and its own socket
folder on a non-default port, and preloads pg_cron (which lives in the `postgres` database, so the
CRM database is a *different* one, as on most shared clusters; jobs run over libpq, pg_cron's
default). As root, the server runs as an unprivileged user, since PostgreSQL refuses to run as
root.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import STATE_DIR

PG_BIN = Path(os.environ.get("CRM_SLA_PG_BIN", "/usr/lib/postgresql/15/bin"))
CRM_DATABASE = os.environ.get("CRM_SLA_PGDATABASE", "crm")
CRON_DATABASE = "postgres"
SUPERUSER = "postgres"
SERVICE_USER = "postgres"

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_preload_libraries": "'pg_cron'",
    "cron.database_name": f"'{CRON_DATABASE}'",
    "cron.max_running_jobs": "16",
    # A development and test cluster: speed over crash safety.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


@dataclass(frozen=True)
class Layout:
    base: Path

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def socket(self) -> Path:
        return self.base / "run"

    @property
    def log(self) -> Path:
        return self.base / "server.log"


def _is_root() -> bool:
    return os.geteuid() == 0


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _reachable_by(user: str, path: Path) -> bool:
    """True when `user` can traverse every folder down to `path`."""
    entry = pwd.getpwnam(user)
    for folder in [path, *path.parents]:
        if not folder.exists():
            continue
        st = folder.stat()
        if st.st_uid == entry.pw_uid:
            ok = st.st_mode & 0o100
        elif st.st_gid == entry.pw_gid:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
            return False
    return True


def _as_server_user(cmd: list[str]) -> list[str]:
    if not _is_root():
        return cmd
    return ["runuser", "-u", SERVICE_USER, "--", *cmd]


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(_as_server_user(cmd), capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise HarnessError(f"{what} failed: {detail[-1] if detail else 'no output'}")
    return proc.stdout


def _check_binaries() -> None:
    if not (PG_BIN / "postgres").exists():
        raise HarnessError(
            f"PostgreSQL 15 server not found in {PG_BIN}: install postgresql-15 and "
            "postgresql-15-cron (make does this as root), or set DATABASE_URL"
        )
    if not (PG_BIN.parent / "lib" / "pg_cron.so").exists():
        raise HarnessError(
            "pg_cron not found: install postgresql-15-cron (make does this as root), "
            "or set DATABASE_URL"
        )


def _ensure_service_user() -> None:
    if _is_root() and not _user_exists(SERVICE_USER):
        subprocess.run(
            ["useradd", "--system", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             SERVICE_USER],
            check=True,
        )


MARKER = "# crm-sla embedded cluster"  # the line _init writes into postgresql.auto.conf


def port_is_free(port: int) -> bool:
    """Whether PostgreSQL could listen on 127.0.0.1:`port` (it sets SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on `port` (any local address), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) \
                    == port:
                inodes.add(fields[9])
    return inodes


def _listening_pids(port: int) -> list[int]:
    """The processes holding a socket that listens on `port` (those this user may look into)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or not wanted:
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
        except OSError:
            continue  # gone, or not ours to look into
    return sorted(pids)


def _data_folder(pid: int) -> Path | None:
    """A PostgreSQL server's data folder: its working folder (the server runs in it), else the
    -D of its command line."""
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        pass
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    return Path(args[args.index("-D") + 1]) if "-D" in args[:-1] else None


def port_holder(port: int) -> str:
    """Who listens on `port`, in words: another crm-sla cluster (its folder), another
    PostgreSQL, or some process (pid and name), as far as this user can tell."""
    for pid in _listening_pids(port):
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            name = "?"
        data = _data_folder(pid) if name.startswith("postgres") else None
        if data is not None and (data / "PG_VERSION").exists():
            try:
                ours = MARKER in (data / "postgresql.auto.conf").read_text(errors="replace")
            except OSError:
                ours = False
            if ours:
                return f"another crm-sla embedded cluster, in {data.parent} (server pid {pid})"
            return f"another PostgreSQL server, data in {data} (pid {pid})"
        return f"process {pid} ({name})"
    return "another program (this user cannot see which)"


def free_port_near(port: int) -> int | None:
    return next((p for p in range(port + 1, port + 50) if port_is_free(p)), None)


@dataclass(frozen=True)
class Cluster:
    """One embedded cluster: `folder` in the repository, listening on a port chosen when it is
    created (`port_variable` in the environment, else `default_port`) and kept from then on."""

    folder: str
    port_variable: str
    default_port: int
    superuser: str = SUPERUSER  # the role initdb makes (Supabase's is supabase_admin)
    bootstrap: bool = True  # False: leave pg_cron and the CRM database to whoever builds on it

    @property
    def port(self) -> int:
        wanted = os.environ.get(self.port_variable)
        created = self._configured_port()
        if created is None:
            return int(wanted or self.default_port)
        if wanted and int(wanted) != created:
            raise HarnessError(
                f"the embedded cluster in {self.layout().base} listens on port {created}, but "
                f"{self.port_variable}={wanted}: unset {self.port_variable}, or remove the "
                "cluster (crm-sla db destroy) to create it on the new port"
            )
        return created

    def _configured_port(self) -> int | None:
        conf = self.layout().data / "postgresql.auto.conf"
        if not conf.exists():
            return None
        ports = [line.split("=", 1)[1].strip() for line in conf.read_text().splitlines()
                 if line.split("=", 1)[0].strip() == "port"]
        return int(ports[-1]) if ports else None

    def layout(self) -> Layout:
        local = STATE_DIR / self.folder
        if _is_root() and _user_exists(SERVICE_USER) and not _reachable_by(SERVICE_USER, STATE_DIR):
            # A clone inside a private folder (mktemp -d): keep the cluster where the server can go.
            digest = hashlib.sha1(str(local).encode()).hexdigest()[:10]
            return Layout(Path("/var/tmp") / f"crm-sla-{digest}")
        return Layout(local)

    def url(self, database: str = CRM_DATABASE, user: str | None = None) -> str:
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{database}"

    def _init(self, lay: Layout) -> None:
        lay.base.mkdir(parents=True, exist_ok=True)
        lay.socket.mkdir(exist_ok=True)
        if _is_root():
            entry = pwd.getpwnam(SERVICE_USER)
            for path in (lay.base, lay.socket):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        _run(
            [str(PG_BIN / "initdb"), "-D", str(lay.data), "-U", self.superuser, "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            "initdb",
        )
        settings = dict(SERVER_SETTINGS, port=str(self.port),
                        unix_socket_directories=f"'{lay.socket}'")
        settings["cron.host"] = f"'{lay.socket}'"
        conf = "\n".join(f"{k} = {v}" for k, v in settings.items())
        with open(lay.data / "postgresql.auto.conf", "a") as fh:
            fh.write(f"\n{MARKER}\n" + conf + "\n")

    def running(self) -> bool:
        lay = self.layout()
        if not (lay.data / "PG_VERSION").exists():
            return False
        proc = subprocess.run(
            _as_server_user([str(PG_BIN / "pg_ctl"), "-D", str(lay.data), "status"]),
            capture_output=True, text=True,
        )
        return proc.returncode == 0

    def start(self, quiet: bool = False) -> str:
        """Start the cluster (creating it first if needed); returns the CRM database URL."""
        _check_binaries()
        _ensure_service_user()
        lay = self.layout()
        if not self.running():
            self._check_port()  # before initdb too: a cluster made on a taken port stays there
        if not (lay.data / "PG_VERSION").exists():
            if not quiet:
                print(f"crm-sla: creating the embedded cluster in {lay.base}")
            self._init(lay)
        if not self.running():
            try:
                _run(
                    [str(PG_BIN / "pg_ctl"), "-D", str(lay.data), "-l", str(lay.log), "-w",
                     "-t", "60", "start"],
                    "starting PostgreSQL",
                )
            except HarnessError as exc:
                raise HarnessError(f"{exc}: {self._last_server_error(lay)}") from None
            if not quiet:
                print(f"crm-sla: embedded PostgreSQL running on 127.0.0.1:{self.port}")
        self._bootstrap_databases()
        return self.url()

    def _check_port(self) -> None:
        port = self.port
        if port_is_free(port):
            return
        other = free_port_near(port)
        choose = f"{self.port_variable}={other or '<another port>'}"
        if self.port_variable == "CRM_SLA_PGPORT":
            choose += " make migrate"
        if self._configured_port() is None:
            how = f"pick another: {choose}"
        else:  # made on that port: only a new cluster listens elsewhere
            how = ("stop that server, or remove this cluster (crm-sla db destroy: its data too) "
                   f"and make it on another port: {choose}")
        raise HarnessError(
            f"port {port} on 127.0.0.1, where the embedded cluster in {self.layout().base} "
            f"listens, is taken by {port_holder(port)}; {how}")

    def _last_server_error(self, lay: Layout) -> str:
        lines = lay.log.read_text(errors="replace").splitlines() if lay.log.exists() else []
        fatal = [ln for ln in lines[-50:] if "FATAL" in ln or "could not" in ln]
        reason = fatal[-1].split(":  ", 1)[-1] if fatal else f"see {lay.log}"
        if "TCP/IP sockets" in reason or "bind" in reason or "in use" in reason:
            reason += f" (another server on port {self.port}? set CRM_SLA_PGPORT to another one)"
        return reason

    def _bootstrap_databases(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                conn = psycopg.connect(self.url(CRON_DATABASE), autocommit=True)
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise HarnessError(
                        f"the embedded cluster does not answer on port {self.port}: "
                        f"{str(exc).splitlines()[0]} (see {self.layout().log})"
                    ) from None
                time.sleep(0.2)
        with conn:
            if not self.bootstrap:
                return
            conn.execute("create extension if not exists pg_cron")
            exists = conn.execute(
                "select 1 from pg_database where datname = %s", (CRM_DATABASE,)
            ).fetchone()
            if not exists:
                conn.execute(f'create database "{CRM_DATABASE}"')

    def stop(self) -> bool:
        if not self.running():
            return False
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.layout().data), "-m", "fast", "-w", "stop"],
             "stopping")
        return True

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.layout().base, ignore_errors=True)


# `make migrate` and the CLI use DEV; `make lint` and `make schema` make their scratch databases
# in TEST (harness.scratch.open_server), so that the monitor loop pg_cron runs in DEV's `crm`
# database never holds up their DROP DATABASE. pytest starts a server of its own
# (pytest-postgresql, see harness/pytest_plugin.py).
DEV = Cluster(".pgdata", "CRM_SLA_PGPORT", 54329)
TEST = Cluster(".pgdata-test", "CRM_SLA_TEST_PGPORT", 54339)
