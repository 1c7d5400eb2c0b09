#!/usr/bin/env bash
# Builds the KWOK controller (simulated nodes and pods) and copies its default stages.
. "$(dirname "$0")/lib.sh"
name=kwok; ver=$KWOK_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver"
mkdir -p "$out/stages"
GOBIN="$out" go install -ldflags="-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$ver"
src="$(go env GOMODCACHE)/sigs.k8s.io/kwok@v$ver/kustomize/stage"
cp -r "$src/." "$out/stages/"
chmod -R u+w "$out/stages"
"$out/kwok" --version || true
mark_cached $name "$ver"
