#!/usr/bin/env bash
# Start a throwaway PostgreSQL server from Debian's packages for the store tests.
# Prints the connection URL on stdout; logs go to stderr. Needs root (CI runs as root).
set -euo pipefail
PORT="${AGORA_PG_PORT:-55432}"
DATA="${AGORA_PG_DATA:-/tmp/agora-pg-$PORT}"
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "installing postgresql from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
BIN=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n 1)")
id postgres >/dev/null 2>&1 || useradd --system --home "$DATA" postgres
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA" && mkdir -p "$DATA" && chown postgres "$DATA"
  su postgres -s /bin/sh -c "$BIN/initdb -D '$DATA' -A trust -U postgres" >&2
fi
if ! su postgres -s /bin/sh -c "$BIN/pg_ctl -D '$DATA' status" >/dev/null 2>&1; then
  su postgres -s /bin/sh -c \
    "$BIN/pg_ctl -D '$DATA' -l '$DATA/server.log' -w -o '-p $PORT -k /tmp -c listen_addresses=127.0.0.1' start" >&2
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
