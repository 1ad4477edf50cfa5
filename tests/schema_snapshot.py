"""The committed schema snapshot (db/schema.sql): `pg_dump --schema-only` of a freshly migrated
database, so every schema change shows up as a reviewed diff. Regenerate it with
`make schema` (python -m tests.schema_snapshot URL > db/schema.sql)."""

from __future__ import annotations

import subprocess
import sys

from harness.cluster import PG_BIN


def dump(url: str) -> str:
    out = subprocess.run(
        [str(PG_BIN / "pg_dump"), "--schema-only", "--no-owner",
         "--schema=public", "--schema=auth", url],
        check=True, capture_output=True, text=True,
    ).stdout
    keep = []
    for line in out.splitlines():
        # Comments, session settings and pg_dump's per-run \restrict keys are not the schema.
        if line.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict",
                            "\\unrestrict")):
            continue
        if not line.strip() and (not keep or not keep[-1].strip()):
            continue
        keep.append(line)
    return "\n".join(keep).strip() + "\n"


if __name__ == "__main__":
    print(dump(sys.argv[1]), end="")
