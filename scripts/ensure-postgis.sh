#!/usr/bin/env bash
# Install (if missing) and start PostgreSQL 15 + PostGIS 3 on loopback, then create the
# test role and database. Idempotent; needs root on Debian 12. Prints the SQLAlchemy URL.
set -euo pipefail

PG_VERSION=15
ROLE=${GEO_SERVICE_PG_ROLE:-geo_service}
PASSWORD=${GEO_SERVICE_PG_PASSWORD:-geo_service}
DB=${GEO_SERVICE_PG_DB:-geo_service_test}

if ! dpkg -s "postgresql-${PG_VERSION}-postgis-3" >/dev/null 2>&1; then
  echo "installing PostgreSQL ${PG_VERSION} + PostGIS 3 …" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    "postgresql-${PG_VERSION}" "postgresql-${PG_VERSION}-postgis-3" >&2
fi

if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main"' | grep -q .; then
  pg_createcluster "$PG_VERSION" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" && $4=="online"' | grep -q .; then
  pg_ctlcluster "$PG_VERSION" main start >&2
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }

psql_admin() { su postgres -c "psql -v ON_ERROR_STOP=1 -qAt $*"; }
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_roles WHERE rolname='${ROLE}'\"")" != "1" ]; then
  psql_admin "-c \"CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'\"" >&2
fi
if [ "$(psql_admin "-c \"SELECT 1 FROM pg_database WHERE datname='${DB}'\"")" != "1" ]; then
  psql_admin "-c \"CREATE DATABASE ${DB} OWNER ${ROLE}\"" >&2
fi
psql_admin "-d ${DB} -c \"CREATE EXTENSION IF NOT EXISTS postgis\"" >&2

echo "postgresql+psycopg://${ROLE}:${PASSWORD}@127.0.0.1:5432/${DB}"
