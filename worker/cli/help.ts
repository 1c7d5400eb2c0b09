// Every command's --help text. Plain strings only: printing help loads nothing else.
const configHelp = '  -c, --config FILE   the config (default: $FRESHET_CONFIG, else ./freshet.yaml)';

const keyHelp = `  --key FILE          sign the decision with NAME's Ed25519 private key (PKCS#8 PEM from
                      openssl genpkey -algorithm ed25519, or an OpenSSH key without passphrase)
  --comment TEXT      a note kept with the decision (covered by the signature)`;

export const help: Record<string, string> = {
  main: `Usage: freshet COMMAND [options]

Rolls rebuilt container images out through Kubernetes stages, durably, on Temporal.

Commands:
  start             run the daemon (worker, watches, HTTP: /metrics /healthz /readyz /webhooks)
  validate-config   check a config file and explain every problem
  status            running rollouts and pending approvals (works with no worker running)
  approve, reject   decide on a rollout waiting for approval
  pause, resume     hold a rollout at its next safe point, or let it go on
  abort             stop a rollout and roll its current stage back
  freeze, unfreeze  stop every rollout (or one pipeline's) at its next safe point, start none
  rollout           roll out an image now (the newest build the watch saw, or --digest)
  freshness         every target: what it runs, the newest build, how long it is behind
                    (--all: every workload of the inventory, in or out of a pipeline)
  bundle-workflows  bundle the workflow code ahead of time, for a faster start

Run "freshet COMMAND --help" for a command's options. Exit codes: 0 done, 1 failed or
refused, 2 wrong usage.`,
  start: `Usage: freshet start [--config FILE] [--listen HOST:PORT] [--grace 30s] [--log-level L] [--pretty|--json-logs]

Runs the daemon: connects to Temporal (address, namespace, TLS, mTLS or API key from the
config), runs the worker for the watch, pipeline and rollout workflows, starts or updates the
watch workflows to match the config, and serves /metrics (Freshet's and the Temporal SDK's),
/healthz, /readyz and /webhooks/<source>. Workflow ids end in @INSTANCE (temporal.instance,
default: the task queue); /readyz fails while another task queue runs one of them. SIGTERM or
SIGINT stops polling, gives running activities the grace time, and exits 0. It runs Node
with --max-semi-space-size=2 (a small young generation: less memory) unless node's command
line or NODE_OPTIONS sets that flag.

${configHelp}
  --listen HOST:PORT  overrides metrics.listen (default 0.0.0.0:9464)
  --grace DURATION    how long running activities get on shutdown (default 30s)
  --log-level LEVEL   trace, debug, info, warn or error (default: log.level in the config)
  --pretty            readable log lines (default on a terminal); --json-logs forces JSON
  --workflow-bundle FILE  workflow code from freshet bundle-workflows (default:
                      $FRESHET_WORKFLOW_BUNDLE; else the bundle cached in $FRESHET_CACHE_DIR,
                      $XDG_CACHE_HOME/freshet or ~/.cache/freshet for these workflow sources,
                      bundled there on the first start, 5-10 s)`,
  'bundle-workflows': `Usage: freshet bundle-workflows [--out FILE]

Bundles the workflow code once. With --out FILE (the container image does this at build time),
"freshet start --workflow-bundle FILE" starts without bundling and needs no writable directory;
without it, the bundle goes to the cache "freshet start" looks in ($FRESHET_CACHE_DIR, else
$XDG_CACHE_HOME/freshet, else ~/.cache/freshet). The bundle is stamped with the hash of the
workflow sources and package versions it was built from: start refuses a bundle of other
sources, and rebuilds a cached one that is corrupt or out of date.

  --out FILE          where to write the bundle (also accepted as the only argument)`,
  'validate-config': `Usage: freshet validate-config FILE [--check-secrets]

Checks the config file. Prints every problem with its path and line and exits 1, or prints a
summary and exits 0.

  --check-secrets   also check that every …Env variable is set and every …File (secrets, TLS
                    files) and Docker config file is a readable, non-empty file; values are
                    never printed`,
  status: `Usage: freshet status [--config FILE] [--json]

Lists the running rollouts of this config's task queue from Temporal's visibility (search
attributes), so it answers with no worker running: phase and stage. When a worker answers a
rollout's status query within 2s, it adds the wave and what the rollout waits for; rollouts
whose details could not be queried are named, with why.

${configHelp}
  --json              an array, one object per rollout: rolloutId, pipeline, image, digest,
                      phase, stage, startedAt, summary, queried; with "queried": true also the
                      status query's fields (tag, paused, stageIndex, stages, wave, targets,
                      approval, decisions, …), with "queried": false a queryError`,
  approve: `Usage: freshet approve ROLLOUT --by NAME [--key FILE] [--comment TEXT] [--config FILE]

Approves the stage a rollout waits on. ROLLOUT is the workflow id or any unique part of it
(see freshet status). Refused (exit 1) when NAME is not among the stage's approvers, when the
stage takes signed decisions only and there is no valid signature, or when nothing waits for
approval.

${configHelp}
${keyHelp}`,
  reject: `Usage: freshet reject ROLLOUT --by NAME [--key FILE] [--comment TEXT] [--config FILE]

Rejects the stage a rollout waits on: the rollout ends "rejected" and nothing more changes.

${configHelp}
${keyHelp}`,
  pause: `Usage: freshet pause ROLLOUT [--config FILE]

Holds the rollout before its next wave or check.

${configHelp}`,
  resume: `Usage: freshet resume ROLLOUT [--config FILE]

Lets a paused rollout go on.

${configHelp}`,
  abort: `Usage: freshet abort ROLLOUT [--by NAME] [--config FILE]

Stops the rollout now and rolls back what its current stage changed.

${configHelp}`,
  freeze: `Usage: freshet freeze --reason TEXT [--pipeline P] [--until T] [--by NAME] [--config FILE]

Freezes every pipeline of this Freshet (temporal.instance), or pipeline P: each running rollout
stops at its next safe point (after the wave it is in and that wave's checks, or at once during a
soak) and shows phase "frozen"; a rollout that starts while frozen waits before its first wave.
Nothing is rolled back. The freeze shows in freshet status, in each rollout's details in the
Temporal UI and in the metric freshet_freeze_active{pipeline}. A second freeze of the same scope
replaces the first.

${configHelp}
  --reason TEXT       why (required); shown wherever the freeze is
  --pipeline P        freeze only pipeline P (default: every pipeline)
  --until T           lift the freeze by itself after a duration (2h, 1d) or at a time
                      (2026-12-24T18:00:00Z)
  --by NAME           who freezes (default: your login name)`,
  unfreeze: `Usage: freshet unfreeze [--pipeline P] [--by NAME] [--config FILE]

Lifts the freezes: without --pipeline every freeze (of every pipeline and of single pipelines),
with it the freeze of pipeline P only (a freeze of every pipeline still holds P). Held rollouts
go on from the safe point where they stopped.

${configHelp}
  --pipeline P        lift only the freeze of pipeline P
  --by NAME           who lifts it (default: your login name)`,
  rollout: `Usage: freshet rollout IMAGE [--digest sha256:…] [--tag TAG] [--config FILE]

Rolls IMAGE (its name in the config) out through its pipeline now: the newest build its watch
saw, or the given digest. A rollout of the same digest runs once.

${configHelp}`,
  freshness: `Usage: freshet freshness [--all] [--config FILE] [--json]

Every pipeline target with the digest it runs, the newest digest, how long it has been behind,
whether its base image has moved on, and how the base was found (BASE FROM: annotation,
provenance or layers; --json adds the base's name and why none was found). What runs is what
the pods report (imageID), the oldest build when they differ; the Deployment's pinned digest
only when no pod reports one. A pod that reports its platform's manifest of a multi-platform
index runs that index.

With --all: every container and init container of every Deployment, StatefulSet, DaemonSet
and CronJob in the config's inventory scope (inventory.clusters, .namespaces, .selector), in
or out of a pipeline: the digest it runs, the newest digest of its tag, the STATE (up to date,
behind since the first build it missed, missing upstream when the tag answers 404, lookup
failed and why, not checked yet), when what runs was BUILT, when the image was last CHECKED,
whether its BASE moved on, and whether a pipeline targets it. Images no configured image
follows are checked by the daemon's watches at inventory.interval and never rolled out.

${configHelp}
  --all               the whole inventory instead of the pipeline targets
  --json              machine-readable output`,
};
