#!/bin/sh
# Runs once before the Temporal server starts (service temporal-schema in docker-compose.yml):
# creates the two PostgreSQL databases and brings their schemas to this server version. Safe to
# run again on an existing volume.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -u "$POSTGRES_USER" -p "$DB_PORT" "$@"; }

tries=0
until nc -z "$POSTGRES_SEEDS" "$DB_PORT"; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "PostgreSQL not reachable at $POSTGRES_SEEDS:$DB_PORT" >&2; exit 1; }
  sleep 1
done

for db in temporal temporal_visibility; do
  case "$db" in temporal) dir=temporal ;; *) dir=visibility ;; esac
  tool --db "$db" create || echo "database $db exists"
  tool --db "$db" setup-schema -v 0.0
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$dir/versioned"
done
echo "Temporal schemas are up to date"
