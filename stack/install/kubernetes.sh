#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kube-scheduler from k8s.io/kubernetes.
# Its go.mod maps every staging module to ./staging/…, which a dependent module does not see,
# so the wrapper module replaces each one with its published v0.X.Y tag, read from that go.mod.
. "$(dirname "$0")/lib.sh"
name=kubernetes; ver=$KUBERNETES_VERSION; out=$(cache_dir $name "$ver")
if is_cached $name "$ver"; then log "$name $ver cached"; exit 0; fi
log "building $name $ver (cold build takes 10-25 minutes on 2 cores)"
minor=${ver#1.}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
modfile=$(cd "$work" && go list -m -json "k8s.io/kubernetes@v$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
[ -s "$modfile" ] || { log "could not fetch go.mod of k8s.io/kubernetes@v$ver"; exit 1; }
mkdir "$work/mod" && cd "$work/mod"
go mod init local/k8sbuild >/dev/null 2>&1
go mod edit -require="k8s.io/kubernetes@v$ver"
for m in $(sed -n 's#^[[:space:]]*\(k8s.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$modfile"); do
  go mod edit -replace="$m=$m@v0.$minor"
done
grep '^godebug' "$modfile" >> go.mod || true
cat > tools.go <<'GO'
//go:build tools
package tools
import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
go mod tidy
ld="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ld="$ld -X $p.gitVersion=v$ver -X $p.gitMajor=1 -X $p.gitMinor=${minor%%.*} -X $p.gitTreeState=clean"
done
go build -tags=selinux,notest -ldflags="all=$ld" -o "$out/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler
"$out/kube-apiserver" --version
mark_cached $name "$ver"
