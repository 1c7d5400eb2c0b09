# Shared helpers for the install scripts (sourced, not run).
set -euo pipefail
STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=../versions.sh
. "$STACK_DIR/versions.sh"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -trimpath"
export GOTOOLCHAIN=local

log() { printf '[install %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# cached_build NAME VERSION: succeeds (0) when $FRESHET_CACHE/NAME-VERSION/.complete exists.
cache_dir() { printf '%s/%s-%s' "$FRESHET_CACHE" "$1" "$2"; }
is_cached() { [ -f "$(cache_dir "$1" "$2")/.complete" ]; }
mark_cached() { touch "$(cache_dir "$1" "$2")/.complete"; }
