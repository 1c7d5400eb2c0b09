#!/usr/bin/env bash
# Builds the Temporal CLI (dev server + embedded Web UI) from the Go module proxy.
. "$(dirname "$0")/lib.sh"
name=temporal; ver=$TEMPORAL_CLI_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver (cold build takes several minutes)"
mkdir -p "$out"
GOBIN="$out" go install -ldflags="-s -w" "github.com/temporalio/cli/cmd/temporal@v$ver"
"$out/temporal" --version
mark_cached $name "$ver"
