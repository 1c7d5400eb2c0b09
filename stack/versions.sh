# Pinned versions of every component of the local stack. Cache keys derive from these:
# change a version here and the next `stack/install.sh` builds or fetches that one.
NODE_VERSION=24.22.3
TEMPORAL_CLI_VERSION=1.5.1
# The Temporal server and its SQL tool for the stack's Temporal cluster on PostgreSQL: the version
# the CLI above embeds (its go.mod), so both builds share one Go build cache.
TEMPORAL_SERVER_VERSION=1.29.1
# Temporal's time-skipping test server (Java, from Maven Central) for the workflow unit tests.
TEMPORAL_TEST_SERVER_VERSION=1.38.0
KUBERNETES_VERSION=1.34.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
# AWS API emulator (PyPI moto[server]) for ECR credentials.
MOTO_VERSION=5.2.5
# Second registry, strict OCI with the referrers API. The newest release the Go module proxy
# serves: later ones moved to module paths it does not serve here (stack/install/zot.sh).
ZOT_VERSION=1.4.3

FRESHET_CACHE="${FRESHET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/freshet}"
