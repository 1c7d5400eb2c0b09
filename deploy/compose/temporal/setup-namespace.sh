#!/bin/sh
# Runs once the Temporal server is healthy (service temporal-namespace in docker-compose.yml):
# creates the namespace Freshet uses and registers Freshet's search attributes (README, "Search
# attributes"). Safe to run again.
set -eu
address="${TEMPORAL_ADDRESS:-temporal:7233}"
namespace="${TEMPORAL_NAMESPACE:-default}"

tries=0
until temporal operator cluster health --address "$address" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal not healthy at $address" >&2; exit 1; }
  sleep 2
done

temporal operator namespace describe --namespace "$namespace" --address "$address" >/dev/null 2>&1 ||
  temporal operator namespace create --namespace "$namespace" --retention 72h --address "$address"

# A new namespace takes a few seconds to reach every part of the server.
tries=0
until existing="$(temporal operator search-attribute list --namespace "$namespace" --address "$address" 2>&1)"; do
  tries=$((tries + 1))
  [ "$tries" -lt 30 ] || { echo "$existing" >&2; exit 1; }
  sleep 2
done
for name in FreshetPipeline FreshetImage FreshetStage FreshetPhase; do
  if echo "$existing" | grep -qw "$name"; then continue; fi
  temporal operator search-attribute create --namespace "$namespace" --name "$name" --type Keyword --address "$address"
done
echo "namespace $namespace is ready for Freshet"
