#!/usr/bin/env bash
# Quick start (1): install (only when pyproject.toml changed, see setup.sh), build the
# synthetic demo zone in the embedded store or reuse it, serve it. Options go to
# `geo-service demo` (--fresh, --no-serve, --port …).
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=dev scripts/setup.sh
exec .venv/bin/geo-service demo "$@"
