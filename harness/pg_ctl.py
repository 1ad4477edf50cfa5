"""`crm-sla-pg-ctl`: pg_ctl for pytest-postgresql's `postgresql_proc`, which runs as root too.

pytest-postgresql starts its throwaway server with pg_ctl as the user running pytest, and
PostgreSQL refuses to run as root (CI and this project's machines run everything as root). The
plugin (harness/pytest_plugin.py) therefore hands `postgresql_proc` this command as its executable:
for anyone else it is plain pg_ctl; as root it runs pg_ctl as the unprivileged `postgres` user
(created when missing, as for the embedded clusters).

That user cannot enter pytest's private temporary folders, where pytest-postgresql puts the data
folder and the log, and opening them up does not last: every pytest run as root (another session,
a plugin test's own pytest) closes them again, and the server dies at its next checkpoint. So as
root the server's files live in a folder of its own in the system's temporary folder, and the
paths pytest-postgresql chose become symbolic links to them; `stop` removes that folder and the
links again, leaving pytest-postgresql nothing to clean up.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness import cluster

PREFIX = "crm-sla-pg-"


def _option_index(args: list[str], *names: str) -> int | None:
    for i, arg in enumerate(args[:-1]):
        if arg in names:
            return i + 1
    return None


def _own_folder(data: Path) -> Path:
    """The folder the server's files really live in, for pytest-postgresql's `data` path."""
    if data.is_symlink():
        return Path(os.readlink(data)).parent
    import pwd

    entry = pwd.getpwnam(cluster.SERVICE_USER)
    own = Path(tempfile.mkdtemp(prefix=PREFIX))
    os.chown(own, entry.pw_uid, entry.pw_gid)
    data.symlink_to(own / "data")
    return own


def _as_root(args: list[str]) -> list[str]:
    """The same pg_ctl call, with pytest's paths turned into the server's own."""
    args = list(args)
    at = _option_index(args, "-D", "--pgdata")
    if at is None:
        return args
    data = Path(args[at])
    if args[0] == "initdb":
        cluster._ensure_service_user()
        own = _own_folder(data)
    elif data.is_symlink():
        own = Path(os.readlink(data)).parent
    else:
        return args  # not one of ours (or already removed): pg_ctl says so
    args[at] = str(own / "data")
    log = _option_index(args, "-l", "--log")
    if log is not None:
        link = Path(args[log])
        args[log] = str(own / "server.log")
        if not link.is_symlink():
            link.symlink_to(own / "server.log")  # pytest-postgresql's log path still reads it
    return args


def _remove(data: Path) -> None:
    """After `stop`: the server's folder and the links to it."""
    own = Path(os.readlink(data)).parent
    if not own.name.startswith(PREFIX):
        return
    for entry in data.parent.iterdir():
        if entry.is_symlink() and os.readlink(entry).startswith(str(own)):
            entry.unlink()
    shutil.rmtree(own, ignore_errors=True)


def main() -> None:
    args = sys.argv[1:]
    pg_ctl = str(cluster.PG_BIN / "pg_ctl")
    if os.geteuid() != 0:
        os.execv(pg_ctl, [pg_ctl, *args])
    at = _option_index(args, "-D", "--pgdata")
    data = Path(args[at]) if at is not None else None
    code = os.spawnvp(os.P_WAIT, "runuser",
                      cluster._as_server_user([pg_ctl, *_as_root(args)]))
    if args and args[0] == "stop" and code == 0 and data is not None and data.is_symlink():
        _remove(data)
    sys.exit(code)


if __name__ == "__main__":
    main()
