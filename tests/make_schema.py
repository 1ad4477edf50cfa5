"""`make schema`: migrate a scratch database on the test server and write db/schema.sql."""

from __future__ import annotations

from harness.paths import REPO_ROOT
from harness.scratch import open_server
from tests.schema_snapshot import dump

if __name__ == "__main__":
    with open_server() as server:  # scratch databases, dropped again at the end
        url = server.url_for(server.migrated_template())
        (REPO_ROOT / "db" / "schema.sql").write_text(dump(url))
        print("wrote db/schema.sql")
