"""`crm-sla-pg-ctl`: pg_ctl for pytest-postgresql's `postgresql_proc`, which runs as root too.

pytest-postgresql starts its throwaway server with pg_ctl as the user running pytest, and
PostgreSQL refuses to run as root (CI and this project's machines run everything as root). The
plugin (harness/pytest_plugin.py) therefore hands `postgresql_proc` this command as its executable:
for anyone else it is plain pg_ctl; as root it runs pg_ctl as the unprivileged `postgres` user
(created when missing, as for the embedded clusters), after giving that user the folder pytest made
for the server and the right to pass through pytest's private temporary folders above it (group
`postgres`, execute only: no listing, no reading, nothing else of pytest's becomes visible).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness import cluster


def _option(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if name.startswith("--") and arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def _hand_over(data: Path) -> None:
    """Let the server user create `data` (in a folder pytest made for it) and reach it."""
    import grp
    import pwd

    entry = pwd.getpwnam(cluster.SERVICE_USER)
    folder = data.parent
    os.chown(folder, entry.pw_uid, entry.pw_gid)
    group = grp.getgrgid(entry.pw_gid).gr_gid
    for above in folder.parents:
        if cluster._reachable_by(cluster.SERVICE_USER, above):
            continue
        if not above.name.startswith("pytest-"):
            sys.exit(f"crm-sla-pg-ctl: the server user {cluster.SERVICE_USER} cannot reach "
                     f"{above}, which is not one of pytest's temporary folders: run pytest with "
                     "a --basetemp it can reach")
        os.chown(above, -1, group)
        os.chmod(above, above.stat().st_mode | 0o010)


def main() -> None:
    args = sys.argv[1:]
    pg_ctl = str(cluster.PG_BIN / "pg_ctl")
    if os.geteuid() == 0 and args and args[0] == "initdb":
        cluster._ensure_service_user()
        data = _option(args, "-D", "--pgdata")
        if data:
            _hand_over(Path(data))
    os.execvp(cluster._as_server_user([pg_ctl])[0], cluster._as_server_user([pg_ctl, *args]))


if __name__ == "__main__":
    main()
