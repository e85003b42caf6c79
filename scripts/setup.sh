#!/usr/bin/env bash
# Create .venv and install the project with its development tools. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! command -v "$PYTHON" >/dev/null 2>&1 || ! "$PYTHON" -c "import venv, ensurepip" 2>/dev/null; then
  echo "installing Python 3 with venv …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-venv python3-pip >&2
  PYTHON=python3
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "Python ≥ 3.11 is required (found $("$PYTHON" --version))" >&2; exit 1; }

# What the dossier PDF needs from Debian (WeasyPrint's Pango and HarfBuzz, a CJK font to
# embed), installed if missing: a PDF made without them has boxes for Chinese text.
DOSSIER_DEBS="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei"
# shellcheck disable=SC2086  # a list of package names
if ! dpkg -s $DOSSIER_DEBS >/dev/null 2>&1; then
  echo "installing Pango and a CJK font for the dossier PDF …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $DOSSIER_DEBS >&2
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip takes ~40 s even when there is nothing to do. The install is editable (code changes
# need none), so it is redone only when pyproject.toml or the extras change: a stamp of
# both in the venv says what was installed last. Delete it to force a reinstall.
STAMP=.venv/geo-service-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1) extras=${EXTRAS:-dev}"
if [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ] && [ -x .venv/bin/geo-service ]; then
  echo "installed packages up to date (pyproject.toml unchanged; rm $STAMP to reinstall)" >&2
  exit 0
fi
rm -f "$STAMP"
.venv/bin/python -m pip install -q --upgrade pip >&2
.venv/bin/python -m pip install -q -e ".[${EXTRAS:-dev}]" >&2
echo "$WANT" >"$STAMP"
echo "installed; the command is .venv/bin/geo-service (or run '. .venv/bin/activate'" \
  "once in your shell, then geo-service)" >&2
