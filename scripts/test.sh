#!/usr/bin/env bash
# The whole test suite, as `make test` and CI run it:
#  1. static checks: migrations are in sync with the models, ruff is clean;
#  2. every test against PostgreSQL (TEST_DATABASE_URL; Django creates its own fresh test database);
#  3. every test that does not need PostgreSQL again against SQLite;
#  4. a smoke run of `make run` from a virtualenv holding requirements.txt only.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export PORTAL_VAR_DIR="${PORTAL_VAR_DIR:-$PWD/var/test}"

echo "== checks"
python manage.py makemigrations --check --dry-run
ruff check .
ruff format --check .

echo "== tests on PostgreSQL ($PG_URL)"
DATABASE_URL="$PG_URL" python -m pytest "$@"

echo "== tests on SQLite"
DATABASE_URL="sqlite:///$PORTAL_VAR_DIR/test.sqlite3" python -m pytest -m "not postgres" "$@"

echo "== smoke run of make run"
bash scripts/smoke_run.sh
