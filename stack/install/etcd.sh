#!/usr/bin/env bash
# Builds etcd from go.etcd.io/etcd/server/v3 in a wrapper module: the server module carries
# replace directives, so `go install module@version` refuses it.
. "$(dirname "$0")/lib.sh"
name=etcd; ver=$ETCD_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
cd "$work"
go mod init local/etcdbuild >/dev/null 2>&1
printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
go get "go.etcd.io/etcd/server/v3@v$ver"
go mod tidy
go build -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
"$out/etcd" --version
mark_cached $name "$ver"
