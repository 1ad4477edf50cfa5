"""Where the repository's SQL lives."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = REPO_ROOT / "db" / "migrations"
FUNCTIONS_DIR = REPO_ROOT / "db" / "functions"
