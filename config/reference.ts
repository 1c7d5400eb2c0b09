// The configuration reference in README.md, generated from the schema: every key with its type,
// default and meaning. `npm run config:reference` rewrites the README block; a unit test fails
// when the block is stale or a key has no description here.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema.ts';

export const descriptions: Record<string, string> = {
  temporal: 'Where the Temporal server is and which task queue this Freshet serves',
  'temporal.address': 'host:port of the Temporal frontend',
  'temporal.namespace': 'Temporal namespace',
  'temporal.taskQueue': 'Task queue of the workers; every Freshet sharing one runs the same config',
  'temporal.instance': 'Name in workflow ids (default: the task queue); one per deployment',
  'temporal.tls': 'TLS to Temporal; with certFile and keyFile, mutual TLS',
  'temporal.tls.serverName': 'Server name to verify, when it differs from the address',
  'temporal.tls.caFile': 'CA certificate (PEM) that signed the server certificate',
  'temporal.tls.certFile': 'Client certificate (PEM) for mutual TLS',
  'temporal.tls.keyFile': 'Client key (PEM) for mutual TLS',
  'temporal.apiKeyEnv': 'Environment variable holding an API key (Temporal Cloud); implies TLS',
  'temporal.apiKeyFile': 'File holding an API key',
  registries: 'Container registries to watch',
  'registries[].name': 'Name images refer to',
  'registries[].url': 'Base URL, such as https://ghcr.io; credentials go in auth, never in the URL',
  'registries[].auth': 'Credentials: anonymous, basic, token (Bearer), dockerConfig, helper or ecr',
  'registries[].auth.type': 'anonymous, basic, token, dockerConfig, helper or ecr',
  'registries[].auth.username': 'User name (not secret)',
  'registries[].auth.usernameEnv': 'Environment variable holding the user name',
  'registries[].auth.usernameFile': 'File holding the user name',
  'registries[].auth.passwordEnv': 'Environment variable holding the password',
  'registries[].auth.passwordFile': 'File holding the password',
  'registries[].auth.tokenEnv': 'Environment variable holding the token',
  'registries[].auth.tokenFile': 'File holding the token',
  'registries[].auth.file': 'dockerConfig: config.json or a mounted dockerconfigjson Secret; read on change',
  'registries[].auth.helperTimeout': 'dockerConfig: deadline of each helper the file names; killed after it',
  'registries[].auth.helper': 'helper: runs docker-credential-<helper> from PATH (gcr, acr-env, …)',
  'registries[].auth.command': 'helper: absolute path of a helper to run instead of helper',
  'registries[].auth.timeout': 'helper: deadline of the helper; it is killed after it',
  'registries[].auth.region': 'ecr: AWS region of the registry, such as us-east-1; an ECR URL must match',
  'registries[].auth.registryId': 'ecr: account id of the registry (default: the account in an ECR URL)',
  'registries[].auth.endpoint': 'ecr: ECR API URL, such as a VPC endpoint (else AWS_ENDPOINT_URL_ECR or AWS)',
  'registries[].maxConcurrency': 'Requests in flight to this registry at most',
  'registries[].timeout': 'Timeout of each registry request (100ms to 1m)',
  'registries[].tokenRealms': "Token realm hosts besides the registry's own that may receive its credentials",
  'registries[].maxRetryAfter': 'Longest Retry-After waited out (0s to 1m); a longer one fails the check',
  'registries[].webhook': 'Receive push webhooks on /webhooks/<source> (one registry per source)',
  'registries[].webhook.source': 'Which registry sends them',
  'registries[].webhook.tokenEnv': 'Environment variable holding the shared token or HMAC secret',
  'registries[].webhook.tokenFile': 'File holding the shared token or HMAC secret',
  clusters: 'Kubernetes clusters by name',
  'clusters.<name>.kubeconfig': 'Path of a kubeconfig (default: $KUBECONFIG or ~/.kube/config)',
  'clusters.<name>.context': 'Context in that kubeconfig',
  'clusters.<name>.inCluster': "Use the pod's service account (Freshet running in the cluster)",
  images: 'Images to watch',
  'images[].name': 'Name used in metrics, rollouts and the CLI',
  'images[].registry': 'Registry name',
  'images[].repository': 'Repository in that registry, such as acme/web',
  'images[].track': 'What counts as a new build: exactly one of tag, semver or pattern',
  'images[].track.tag': 'Follow this tag; a new digest behind it is a rebuild',
  'images[].track.semver': 'The highest version tag in this range, such as ^1.4',
  'images[].track.includePrerelease': 'Let semver pick pre-releases',
  'images[].track.pattern': 'Regex over tags; its capture group orders them',
  'images[].track.order': 'How pattern captures compare',
  'images[].pipeline': 'Pipeline that rolls new builds out; without one, the image is only watched',
  'images[].interval': 'How often to check, at least 1s (webhooks check at once)',
  'images[].platform': 'Platform to read from a multi-arch index',
  'images[].watchGroup': 'Watch workflow to share (default: one per registry)',
  'images[].base': 'The image this one is built on, for lineage when its builds do not say',
  'images[].base.image': 'Name of another watched image; proven by layer prefix',
  pipelines: 'Pipelines by name',
  'pipelines.<name>.stages': 'Stages, rolled out in order',
  'pipelines.<name>.stages[].name': 'Stage name',
  'pipelines.<name>.stages[].cluster': 'Cluster name',
  'pipelines.<name>.stages[].targets': 'Workloads to update',
  'pipelines.<name>.stages[].targets[].namespace': 'Namespace',
  'pipelines.<name>.stages[].targets[].kind':
    'Kind named by name: Deployment (default), StatefulSet, DaemonSet, CronJob',
  'pipelines.<name>.stages[].targets[].name': 'One workload of kind by name (or deployment, or selector)',
  'pipelines.<name>.stages[].targets[].deployment': 'One Deployment by name (or name, or selector)',
  'pipelines.<name>.stages[].targets[].selector':
    'Every workload of the kinds with these labels (or deployment, or name)',
  'pipelines.<name>.stages[].targets[].kinds':
    'Kinds a selector matches (default: [kind], else [Deployment])',
  'pipelines.<name>.stages[].targets[].awaitNextJob':
    'CronJob: ready once its next Job on the new image succeeds (fails: rollback)',
  'pipelines.<name>.stages[].targets[].container':
    "Container to update (default: the one running the image's repository)",
  'pipelines.<name>.stages[].waves': 'Steps through the targets; default one wave of all',
  'pipelines.<name>.stages[].waves[].count': 'The next N targets',
  'pipelines.<name>.stages[].waves[].percent': "Up to this share of the stage's targets",
  'pipelines.<name>.stages[].waves[].maxParallel': 'Targets changed at once within the wave (at most 1000)',
  'pipelines.<name>.stages[].health': 'When a stage counts as healthy',
  'pipelines.<name>.stages[].health.rolloutTimeout':
    'How long one Deployment may take to become ready (at least 1s)',
  'pipelines.<name>.stages[].health.soak': 'How long checks keep running after the last wave (0s: none)',
  'pipelines.<name>.stages[].health.checks': 'Checks after every wave and during the soak',
  'pipelines.<name>.stages[].health.checks[].name': 'Name in status and reasons',
  'pipelines.<name>.stages[].health.checks[].http': 'An HTTP check',
  'pipelines.<name>.stages[].health.checks[].http.url':
    'URL to GET; no credentials in it (use headers, basicAuth or bearer)',
  'pipelines.<name>.stages[].health.checks[].http.expectStatus': 'Status that passes',
  'pipelines.<name>.stages[].health.checks[].http.bodyMatch': 'Regex the body must match',
  'pipelines.<name>.stages[].health.checks[].http.timeout': 'Request timeout (100ms to 30s)',
  'pipelines.<name>.stages[].health.checks[].http.headers':
    'Request headers by name, each value from an environment variable or a file',
  'pipelines.<name>.stages[].health.checks[].http.headers.<name>.valueEnv':
    'Environment variable holding the header value',
  'pipelines.<name>.stages[].health.checks[].http.headers.<name>.valueFile': 'File holding the header value',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth': 'HTTP Basic credentials',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth.username': 'User name (not secret)',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth.usernameEnv':
    'Environment variable holding the user name',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth.usernameFile': 'File holding the user name',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth.passwordEnv':
    'Environment variable holding the password',
  'pipelines.<name>.stages[].health.checks[].http.basicAuth.passwordFile': 'File holding the password',
  'pipelines.<name>.stages[].health.checks[].http.bearer': 'A bearer token (Authorization: Bearer …)',
  'pipelines.<name>.stages[].health.checks[].http.bearer.tokenEnv': 'Environment variable holding the token',
  'pipelines.<name>.stages[].health.checks[].http.bearer.tokenFile': 'File holding the token',
  'pipelines.<name>.stages[].health.checks[].prometheus': 'A Prometheus instant query',
  'pipelines.<name>.stages[].health.checks[].prometheus.url':
    'Prometheus base URL; no credentials in it (use headers, basicAuth or bearer)',
  'pipelines.<name>.stages[].health.checks[].prometheus.query':
    'PromQL; every sample is held to the bounds, no data fails',
  'pipelines.<name>.stages[].health.checks[].prometheus.max': 'Highest value that passes',
  'pipelines.<name>.stages[].health.checks[].prometheus.min': 'Lowest value that passes',
  'pipelines.<name>.stages[].health.checks[].prometheus.interval':
    'How often it runs during the soak (at least 100ms)',
  'pipelines.<name>.stages[].health.checks[].prometheus.headers':
    'Request headers by name, each value from an environment variable or a file',
  'pipelines.<name>.stages[].health.checks[].prometheus.headers.<name>.valueEnv':
    'Environment variable holding the header value',
  'pipelines.<name>.stages[].health.checks[].prometheus.headers.<name>.valueFile':
    'File holding the header value',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth': 'HTTP Basic credentials',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth.username': 'User name (not secret)',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth.usernameEnv':
    'Environment variable holding the user name',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth.usernameFile': 'File holding the user name',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth.passwordEnv':
    'Environment variable holding the password',
  'pipelines.<name>.stages[].health.checks[].prometheus.basicAuth.passwordFile': 'File holding the password',
  'pipelines.<name>.stages[].health.checks[].prometheus.bearer': 'A bearer token (Authorization: Bearer …)',
  'pipelines.<name>.stages[].health.checks[].prometheus.bearer.tokenEnv':
    'Environment variable holding the token',
  'pipelines.<name>.stages[].health.checks[].prometheus.bearer.tokenFile': 'File holding the token',
  'pipelines.<name>.stages[].approval': 'Wait for an operator before this stage',
  'pipelines.<name>.stages[].approval.required': 'Whether the gate is on',
  'pipelines.<name>.stages[].approval.timeout':
    'After this, the rollout ends approval_timed_out (at least 1s)',
  'pipelines.<name>.stages[].approval.approvers':
    'Who may decide (default: anyone): names, or names with public keys',
  'pipelines.<name>.stages[].approval.approvers[].name': 'Name the approver decides as (--by NAME)',
  'pipelines.<name>.stages[].approval.approvers[].publicKey':
    'Ed25519 key (PEM, OpenSSH line or base64); this name decides signed only',
  'pipelines.<name>.stages[].approval.approvers[].publicKeyFile': 'File holding that public key',
  'pipelines.<name>.stages[].approval.requireSignature':
    "Refuse unsigned decisions (the UI's signals too); every approver has a key",
  'pipelines.<name>.stages[].windows':
    'Change windows: a wave starts only inside one (default: any time); README "Windows and freezes"',
  'pipelines.<name>.stages[].windows[].days': 'Days the window opens on (mon … sun)',
  'pipelines.<name>.stages[].windows[].from': 'Local time it opens, HH:MM or HH:MM:SS',
  'pipelines.<name>.stages[].windows[].to':
    'Local time it closes (24:00: midnight); earlier than from: closes the next day',
  'pipelines.<name>.stages[].windows[].timeZone':
    'IANA time zone, such as Europe/Berlin; follows daylight saving',
  'pipelines.<name>.onNewerDigest': 'A newer build supersedes the running rollout at a safe point, or queues',
  inventory: 'Report the freshness of every workload in scope, in or out of a pipeline',
  'inventory.clusters': 'Clusters to read (default: every configured cluster)',
  'inventory.namespaces': 'Namespaces to read; ["*"] alone means every namespace (cluster-wide list)',
  'inventory.selector': 'Labels every reported workload carries (all must match)',
  'inventory.interval': 'How often an image no configured image follows is checked (one HEAD)',
  'inventory.scanInterval': "How often the scope's workloads and pods are listed",
  metrics: 'The HTTP server',
  worker: "This daemon's Temporal worker: tasks run at once and how they are fetched",
  'worker.maxConcurrentActivities':
    'Activities run at once by this daemon, every rollout together (patches, waits, checks)',
  'worker.maxConcurrentWorkflowTasks': 'Workflow tasks run at once',
  'worker.activityTaskPollers': 'Concurrent polls for activity tasks',
  'worker.workflowTaskPollers': 'Concurrent polls for workflow tasks',
  'worker.eagerActivities':
    'Activities a workflow task starts here directly, if the server allows eager execution (0: off)',
  'metrics.listen': 'host:port of /metrics, /healthz, /readyz and /webhooks/<source>',
  notifications: 'Who hears of rollouts and stale workloads: Slack and signed JSON webhooks',
  'notifications.temporalUiUrl':
    'Base URL of the Temporal Web UI, for links to a rollout (no link without it)',
  'notifications.staleAfter': 'A workload this long behind the newest build sends workload.stale, once',
  'notifications.sinks': 'Where notifications go; each event to every sink that wants it',
  'notifications.sinks[].name': 'Name in logs and in freshet_notifications_total{sink}',
  'notifications.sinks[].slack': 'A Slack incoming webhook; its URL is a secret',
  'notifications.sinks[].slack.urlEnv': 'Environment variable holding the webhook URL',
  'notifications.sinks[].slack.urlFile': 'File holding the webhook URL',
  'notifications.sinks[].webhook': 'A JSON POST signed with HMAC-SHA256 (X-Freshet-Signature)',
  'notifications.sinks[].webhook.url': 'Where to POST; no credentials in it',
  'notifications.sinks[].webhook.secretEnv': 'Environment variable holding the signing secret',
  'notifications.sinks[].webhook.secretFile': 'File holding the signing secret',
  'notifications.sinks[].events': 'Event types this sink wants (default: all)',
  'notifications.sinks[].pipelines': 'Pipelines this sink hears of (default: all)',
  'notifications.sinks[].timeout': 'Deadline of one POST; a slower sink counts as failed and is retried',
  log: 'Logging',
  'log.level': 'Lowest level logged',
};

type JsonSchema = {
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  pattern?: string;
  format?: string;
};

export interface ReferenceRow {
  path: string;
  type: string;
  default?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.pattern?.includes('ms|s|m|h|d')) return 'duration';
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.anyOf && !s.type) return s.anyOf.map(typeOf).join(' or ');
  if (
    s.type === 'object' &&
    s.additionalProperties &&
    typeof s.additionalProperties === 'object' &&
    !s.properties
  )
    return 'map';
  if (s.format === 'uri') return 'URL';
  return s.type ?? 'any';
}

function walk(schema: JsonSchema, path: string, rows: ReferenceRow[]): void {
  const variants = schema.oneOf ?? schema.anyOf;
  if (variants) {
    const merged: Record<string, JsonSchema> = {};
    for (const v of variants) {
      for (const [k, p] of Object.entries(v.properties ?? {})) {
        const seen = merged[k];
        merged[k] =
          seen?.const !== undefined && p.const !== undefined
            ? { enum: [seen.const, p.const] }
            : seen?.enum && p.const !== undefined
              ? { enum: [...seen.enum, p.const] }
              : (seen ?? p);
      }
    }
    walk({ type: 'object', properties: merged }, path, rows);
    return;
  }
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    rows.push({
      path: at,
      type: typeOf(prop.oneOf ? { type: 'object' } : prop),
      ...(prop.default !== undefined ? { default: JSON.stringify(prop.default) } : {}),
    });
    walkChildren(prop, at, rows);
  }
}

function walkChildren(prop: JsonSchema, at: string, rows: ReferenceRow[]): void {
  if (prop.type === 'array' && prop.items) walk(prop.items, `${at}[]`, rows);
  else if (prop.properties || prop.oneOf || prop.anyOf) walk(prop, at, rows);
  else if (prop.additionalProperties && typeof prop.additionalProperties === 'object') {
    const value = prop.additionalProperties;
    if (value.properties || value.oneOf) walk(value, `${at}.<name>`, rows);
  }
}

export function referenceRows(): ReferenceRow[] {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const rows: ReferenceRow[] = [];
  walk(schema, '', rows);
  return rows;
}

export function referenceMarkdown(): string {
  const lines = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const row of referenceRows()) {
    const def = row.default && row.default !== '{}' ? `\`${row.default}\`` : '';
    lines.push(`| \`${row.path}\` | ${row.type} | ${def} | ${descriptions[row.path] ?? ''} |`);
  }
  return lines.join('\n');
}

export const readmeFile = fileURLToPath(new URL('../README.md', import.meta.url));
const start = '<!-- config-reference:start (npm run config:reference) -->';
const end = '<!-- config-reference:end -->';

/** README.md with the reference block replaced by the current one. */
export function readmeWithReference(readme: string): string {
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from < 0 || to < from) throw new Error(`README.md has no ${start} … ${end} block`);
  return `${readme.slice(0, from + start.length)}\n\n${referenceMarkdown()}\n\n${readme.slice(to)}`;
}

if (import.meta.main) {
  writeFileSync(readmeFile, readmeWithReference(readFileSync(readmeFile, 'utf8')));
  console.log(`updated the configuration reference in ${readmeFile}`);
}
