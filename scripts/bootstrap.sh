#!/usr/bin/env bash
# Installs what VEV-IQ needs on a fresh machine, and skips what is already up to date:
# the Python virtualenv (.venv), the npm packages, and the web app build (frontend/dist).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build

stamp_ok() { [ -f "build/$1.stamp" ] && [ "$(cat "build/$1.stamp")" = "$2" ]; }

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating the Python virtualenv (.venv)"
  "$python" -m venv .venv
fi
py_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
if ! stamp_ok python "$py_hash"; then
  echo "==> installing Python packages"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$py_hash" > build/python.stamp
fi

npm_hash=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if ! stamp_ok npm "$npm_hash" || [ ! -d node_modules ]; then
  echo "==> installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > build/npm.stamp
fi

web_hash=$( (echo "$npm_hash"; find frontend -path frontend/dist -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; sha256sum vite.config.* ) | sha256sum | cut -d' ' -f1)
if ! stamp_ok web "$web_hash" || [ ! -f frontend/dist/index.html ]; then
  echo "==> building the web app"
  npm run --silent build
  echo "$web_hash" > build/web.stamp
fi
