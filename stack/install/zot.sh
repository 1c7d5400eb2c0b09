#!/usr/bin/env bash
# Builds the zot registry (OCI-native, referrers API) from the Go module proxy, without its
# extensions (search, sync, scrub, metrics, lint): the stack needs the distribution API and
# htpasswd auth, and the extensions pull in the UI and CVE scanner.
# The proxy serves zot's releases under its repository path, github.com/project-zot/zot, while
# their go.mod names the module zotregistry.io/zot; a dependent module refuses that mismatch,
# so the build runs inside a copy of the release's own tree, with its go.mod, go.sum and replaces.
. "$(dirname "$0")/lib.sh"
name=zot; ver=$ZOT_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver (minimal, no extensions)"
work=$(mktemp -d); trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$out"
src=$(cd "$work" && go mod download -json "github.com/project-zot/zot@v$ver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -d "$src" ] || { log "could not fetch github.com/project-zot/zot@v$ver"; exit 1; }
cp -r "$src" "$work/zot"
chmod -R u+w "$work/zot"
cd "$work/zot"
pkg=zotregistry.io/zot/pkg/api/config
go build -tags containers_image_openpgp \
  -ldflags="-s -w -X $pkg.ReleaseTag=v$ver -X $pkg.BinaryType=minimal -X $pkg.GoVersion=$(go env GOVERSION)" \
  -o "$out/zot" ./cmd/zot
"$out/zot" --version
mark_cached $name "$ver"
