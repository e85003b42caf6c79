#!/usr/bin/env bash
# Quick start (1): install, build the synthetic demo zone in the embedded store, serve it.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=dev scripts/setup.sh
exec .venv/bin/geo-service demo "$@"
