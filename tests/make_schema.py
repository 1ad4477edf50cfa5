"""`make schema`: migrate a scratch database on the test cluster and write db/schema.sql."""

from __future__ import annotations

import os

from pytest_postgresql.janitor import DatabaseJanitor

from harness import cluster, migrate
from harness.paths import REPO_ROOT
from tests.schema_snapshot import dump

if __name__ == "__main__":
    name = f"crm_sla_schema_{os.getpid()}"
    janitor = DatabaseJanitor(user=cluster.SUPERUSER, host="127.0.0.1", port=cluster.TEST.port,
                              dbname=name)
    janitor.init()
    try:
        url = cluster.TEST.url(name)
        migrate.apply(url, report=lambda _msg: None)
        (REPO_ROOT / "db" / "schema.sql").write_text(dump(url))
        print("wrote db/schema.sql")
    finally:
        janitor.drop()
