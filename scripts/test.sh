#!/usr/bin/env bash
# Runs the whole test suite. Installs what is missing first, including Debian's Chromium for
# the browser tests. Extra arguments go to pytest (e.g. scripts/test.sh -k login).
# DATABASE_URL=postgresql+asyncpg://... runs the database tests on PostgreSQL (SQLite otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh

if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium (Debian package) for the browser tests"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi

.venv/bin/ruff check backend ocpp_server tests bench
.venv/bin/ruff format --check backend ocpp_server tests bench
.venv/bin/mypy
exec .venv/bin/pytest "$@"
