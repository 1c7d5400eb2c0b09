#!/usr/bin/env bash
# Builds the Temporal server (all services in one binary) and its SQL schema tool from the Go
# module proxy, at the version the CLI's dev server embeds, so a cold build reuses most of the
# CLI build's Go cache; and copies the PostgreSQL schemas the tool applies out of that module.
. "$(dirname "$0")/lib.sh"
name=temporal-server; ver=$TEMPORAL_SERVER_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver and temporal-sql-tool"
work=$(mktemp -d); trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$out"
# `go install` names binaries after their package directory (server, sql): build aside, then rename.
GOBIN="$work/bin" go install -ldflags="-s -w" \
  "go.temporal.io/server/cmd/server@v$ver" "go.temporal.io/server/cmd/tools/sql@v$ver"
mv "$work/bin/server" "$out/temporal-server"
mv "$work/bin/sql" "$out/temporal-sql-tool"
src=$(cd "$work" && go mod download -json "go.temporal.io/server@v$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$src/schema/postgresql/v12" ] || { log "no schema/postgresql/v12 in go.temporal.io/server@v$ver"; exit 1; }
rm -rf "$out/schema"
mkdir -p "$out/schema/postgresql"
cp -r "$src/schema/postgresql/v12" "$out/schema/postgresql/v12"
chmod -R u+w "$out/schema"
"$out/temporal-server" --version
"$out/temporal-sql-tool" --version
mark_cached $name "$ver"
