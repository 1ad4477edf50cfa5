"""Where crm-sla's files are: in a checkout, the repository's own db/ and tests/sql; installed
(`pip install` of the repository or its wheel), the copies that travel inside the package
(pyproject.toml maps db/ to harness/db and tests/sql to harness/sql_tests)."""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent
IN_CHECKOUT = (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "db").is_dir()

if IN_CHECKOUT:
    DB_DIR = _CHECKOUT / "db"
    SQL_TESTS_DIR = _CHECKOUT / "tests" / "sql"
    # The repository; installed, the current folder (where `crm-sla bench` writes its figures).
    REPO_ROOT = _CHECKOUT
    # Where the embedded clusters keep their data.
    STATE_DIR = _CHECKOUT
else:
    DB_DIR = PACKAGE_DIR / "db"
    SQL_TESTS_DIR = PACKAGE_DIR / "sql_tests"
    REPO_ROOT = Path.cwd()
    STATE_DIR = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "crm-sla"

MIGRATIONS_DIR = DB_DIR / "migrations"
FUNCTIONS_DIR = DB_DIR / "functions"
