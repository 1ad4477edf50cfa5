"""Which database the harness works on, and connecting to it with errors a user can act on."""

from __future__ import annotations

import os
import re

import psycopg

from harness import cluster
from harness.errors import HarnessError


def using_embedded() -> bool:
    return not os.environ.get("DATABASE_URL")


def database_url(quiet: bool = False) -> str:
    """DATABASE_URL when set; otherwise the embedded cluster's CRM database, started on demand."""
    if not using_embedded():
        return os.environ["DATABASE_URL"]
    return cluster.DEV.start(quiet=quiet)


def redact(url: str) -> str:
    return re.sub(r"//([^:@/]+):[^@/]*@", r"//\1:***@", url)


def with_database(url: str, dbname: str) -> str:
    """The same server and credentials, another database."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def connect(url: str, **kwargs) -> psycopg.Connection:
    kwargs.setdefault("autocommit", True)
    kwargs.setdefault("connect_timeout", 10)
    try:
        return psycopg.connect(url, **kwargs)
    except psycopg.OperationalError as exc:
        lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
        reason = lines[0].removeprefix("connection failed: ") if lines else "no answer"
        raise HarnessError(
            f"cannot connect to {redact(url)}: {reason.rstrip('.')}. "
            "Check DATABASE_URL (host, port, user, password, database), or unset it to use "
            "the embedded database."
        ) from None
    except psycopg.ProgrammingError as exc:
        raise HarnessError(f"DATABASE_URL is not a valid connection string: {exc}") from None


def describe_db_error(exc: psycopg.Error) -> str:
    diag = exc.diag
    text = diag.message_primary or str(exc).strip().splitlines()[0]
    hint = f" Hint: {diag.message_hint}" if diag.message_hint else ""
    code = f" [{diag.sqlstate}]" if diag.sqlstate else ""
    return f"{text}{code}.{hint}"
