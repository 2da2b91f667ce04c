#!/usr/bin/env bash
# Runs the VEV-IQ demo on one machine with the embedded defaults (SQLite, in-process events):
# installs what is missing, migrates, creates an admin on first run, seeds demo sites, stations
# and drivers (once), serves on 127.0.0.1:8000 and runs simulated stations charging live.
# Prints the URL and the logins. `.venv/bin/vev-iq serve` runs the server without the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
exec .venv/bin/vev-iq demo "$@"
