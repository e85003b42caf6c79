#!/usr/bin/env bash
# Quick start (2): install everything the tests need (PostgreSQL + PostGIS, Chromium, GDAL tools,
# QGIS),
# then run the linters, the type checker and every tier of the test suite on both stores.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
GEO_SERVICE_TEST_PG_URL=$(scripts/ensure-postgis.sh)
export GEO_SERVICE_TEST_PG_URL

# Chromium for the browser tests, and a CJK font so Chinese labels render in screenshots.
if ! command -v chromium >/dev/null 2>&1 || ! dpkg -s fonts-wqy-microhei >/dev/null 2>&1; then
  echo "installing Chromium and a CJK font for the browser tests …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei >&2
fi

# poppler-utils (pdftotext, pdffonts, pdfinfo): the tests read the dossier PDF back with them
# (tests/test_dossier.py).
if ! command -v pdftotext >/dev/null 2>&1; then
  echo "installing poppler-utils for the dossier tests …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q poppler-utils >&2
fi

# GDAL's command-line tools: the client the OGC API and GeoPackage download tests read with
# (tests/test_gdal_client.py). Debian's, not the one inside our Python wheels.
if ! command -v ogrinfo >/dev/null 2>&1; then
  echo "installing gdal-bin (ogrinfo, ogr2ogr) for the GDAL client tests …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q gdal-bin >&2
fi

# Debian's QGIS, headless: the desktop client tests/test_qgis_client.py signs in with
# (OAuth2) and reads through (OGC API - Features), run with the system python3.
if ! /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1; then
  echo "installing qgis and python3-qgis for the QGIS client test …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q qgis python3-qgis >&2
fi

echo "== ruff" >&2
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy" >&2
.venv/bin/mypy
# Every tier, on both stores (tests/conftest.py marks them), on every core (pytest-xdist;
# PYTEST_XDIST_AUTO_NUM_WORKERS=n to choose): the fast tier first, so a broken inner loop
# fails within minutes, then the rest (postgis, browser, external, fuzz, slow). In CI
# (CI=true) a skipped test fails the run: see tests/conftest.py.
fast="not (postgis or browser or external or fuzz or slow)"
echo "== pytest: fast tier" >&2
.venv/bin/pytest -n auto -m "$fast" "$@"
echo "== pytest: postgis, browser, external, fuzz, slow" >&2
.venv/bin/pytest -n auto -m "not ($fast)" "$@"
