// The whole configuration of Freshet. This schema is the single source of truth: the config
// types are inferred from it, the JSON Schema for editors is generated from it, and its
// messages are what a user sees when a config file is wrong.
import semver from 'semver';
import { z } from 'zod';
import { ed25519PublicKeyProblem } from './approver-keys.ts';
import { checkAuthFields, checkOneAuthorization } from './check-auth-schema.ts';
import { dockerConfigAuth, helperAuth } from './docker-credentials-schema.ts';
import { duration, durationWithin } from './duration-schema.ts';
import { checkEcrRegistry, ecrAuth } from './ecr-auth.ts';
import { checkNotificationPipelines, notificationsSchema } from './notifications-schema.ts';
import { basicAuthFields, checkBasicAuth, exactlyOneSecret, filePath, secretRef } from './secret-refs.ts';
import { checkTargetOwnership } from './target-ownership.ts';
import { credentialsIn } from './url-credentials.ts';
import { changeWindow } from './window-schema.ts';

export { duration } from './duration-schema.ts';

const namePattern = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const name = (what: string) =>
  z
    .string()
    .regex(
      namePattern,
      `${what} names use lowercase letters, digits and dashes (like "web-api"), at most 63`,
    );

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, such as 0.0.0.0:9464');

/**
 * A URL that carries no credentials, because URLs travel in workflow inputs and land in
 * histories. The hints say where credentials go instead; the message never quotes them.
 */
function urlWithoutCredentials<T extends z.ZodType<string>>(
  base: T,
  hints: { userinfo: string; query: string },
) {
  return base.superRefine((url, ctx) => {
    const found = credentialsIn(url);
    const why = "they would be copied into every rollout's history";
    if (found?.kind === 'userinfo') {
      ctx.addIssue({
        code: 'custom',
        message: `the URL carries credentials (user:password@); ${why}. ${hints.userinfo} and drop them from the URL`,
      });
    } else if (found?.kind === 'query') {
      ctx.addIssue({
        code: 'custom',
        message: `the query parameter "${found.parameter}" looks like a secret; ${why.replace('they', 'it')}. ${hints.query}`,
      });
    }
  });
}

const checkUrl = urlWithoutCredentials(z.url({ protocol: /^https?$/ }), {
  userinfo: 'Move them into basicAuth: { username: …, passwordEnv: … } (or passwordFile)',
  query:
    'Send it as a header instead: headers: { Authorization: { valueEnv: … } } or bearer: { tokenEnv: … } (…File for a file)',
});

/** Request timeouts: above 0s, and inside the activity that makes the request. */
const requestTimeoutFloor = {
  ms: 100,
  why: 'a shorter timeout gives up before the other side can answer',
};

const registryAuth = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('anonymous') }),
  z.strictObject({ type: z.literal('basic'), ...basicAuthFields }).superRefine(checkBasicAuth),
  z.strictObject({ type: z.literal('token'), ...secretRef('token') }).superRefine(exactlyOneSecret('token')),
  dockerConfigAuth,
  helperAuth,
  ecrAuth,
]);

export const webhookSources = ['distribution', 'dockerhub', 'harbor', 'quay', 'ghcr'] as const;

/** A token realm's host as a challenge names it: `auth.example.com`, or `host:port` for one port. */
const realmHost = z
  .string()
  .regex(
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)(:\d{1,5})?$/,
    'expected a host name such as auth.example.com, optionally with :port (not a URL)',
  );

const registry = z.strictObject({
  name: name('registry'),
  url: urlWithoutCredentials(
    z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as https://ghcr.io' }),
    {
      userinfo: 'Move them into auth: { type: basic, username: …, passwordEnv: … } (or passwordFile)',
      query: 'Use auth: { type: token, tokenEnv: … } (or tokenFile) instead',
    },
  ),
  auth: registryAuth.prefault({ type: 'anonymous' }),
  maxConcurrency: z.int().min(1).max(64).default(4),
  timeout: durationWithin({
    min: requestTimeoutFloor,
    // The watch's check activity has 2 minutes for a whole cycle (workflows/watch.ts).
    max: { ms: 60_000, why: 'one watch cycle checks all its images within 2 minutes' },
  }).prefault('10s'),
  tokenRealms: z.array(realmHost).max(16).default([]),
  maxRetryAfter: durationWithin({
    max: { ms: 60_000, why: 'one watch cycle checks all its images within 2 minutes' },
  }).prefault('30s'),
  webhook: z
    .strictObject({ source: z.enum(webhookSources), ...secretRef('token') })
    .superRefine(exactlyOneSecret('token'))
    .optional(),
});

const cluster = z
  .strictObject({
    kubeconfig: filePath.optional(),
    context: z.string().min(1).optional(),
    inCluster: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    if (v.inCluster && (v.kubeconfig || v.context)) {
      ctx.addIssue({
        code: 'custom',
        path: ['inCluster'],
        message: "inCluster uses the pod's service account; drop kubeconfig and context",
      });
    }
  });

const track = z
  .strictObject({
    tag: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/, 'not a valid image tag')
      .optional(),
    semver: z
      .string()
      .refine((range) => range.trim() !== '' && semver.validRange(range) !== null, {
        error:
          'not a valid semver range (such as ^1.4, ~2.0 or ">=1.2 <2"); to follow one tag, use track: { tag: … }',
      })
      .optional(),
    includePrerelease: z.boolean().default(false),
    pattern: z.string().min(1).optional(),
    order: z.enum(['numerical', 'alphabetical']).default('numerical'),
  })
  .superRefine((v, ctx) => {
    const set = (['tag', 'semver', 'pattern'] as const).filter((k) => v[k] !== undefined);
    if (set.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of tag (follow one tag), semver (a version range) or pattern (a regex)',
      });
    }
    if (v.pattern !== undefined) {
      try {
        const groups = new RegExp(`${v.pattern}|`).exec('')?.length ?? 1;
        if (groups < 2)
          ctx.addIssue({
            code: 'custom',
            path: ['pattern'],
            message: 'the pattern needs one capture group, whose value orders the tags',
          });
      } catch (err) {
        ctx.addIssue({
          code: 'custom',
          path: ['pattern'],
          message: `not a valid regular expression: ${(err as Error).message}`,
        });
      }
    }
  });

const platform = z
  .string()
  .regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'expected os/architecture[/variant], such as linux/amd64')
  .default('linux/amd64');

const image = z.strictObject({
  name: name('image'),
  registry: name('registry'),
  repository: z
    .string()
    .regex(
      /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/,
      'not a valid repository name (like acme/web)',
    ),
  track,
  pipeline: name('pipeline').optional(),
  interval: durationWithin({
    min: {
      ms: 1_000,
      why: 'polling more often is a hot loop on the registry (webhooks detect pushes at once)',
    },
  }).prefault('1m'),
  platform,
  watchGroup: name('watch group').optional(),
  base: z.strictObject({ image: name('image') }).optional(),
});

const workloadKind = z.enum(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'], {
  error: 'must be one of Deployment, StatefulSet, DaemonSet, CronJob',
});

const target = z
  .strictObject({
    namespace: z.string().min(1),
    kind: workloadKind.optional(),
    name: z.string().min(1).optional(),
    deployment: z.string().min(1).optional(),
    selector: z.record(z.string(), z.string()).optional(),
    kinds: z.array(workloadKind).min(1).optional(),
    container: z.string().min(1).optional(),
    awaitNextJob: z.boolean().optional(),
  })
  .superRefine((v, ctx) => {
    const given = [v.deployment, v.name, v.selector].filter((x) => x !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of deployment (a name), name (with kind) or selector (labels)',
      });
    }
    if (v.deployment !== undefined && v.kind !== undefined && v.kind !== 'Deployment') {
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: `deployment names a Deployment; for a ${v.kind} use name: ${v.deployment}`,
      });
    }
    if (v.kinds !== undefined && (v.selector === undefined || v.kind !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['kinds'],
        message: 'kinds lists the kinds a selector matches: use it with selector and without kind',
      });
    }
    const kinds = v.kinds ?? [v.kind ?? 'Deployment'];
    if (v.awaitNextJob !== undefined && !kinds.includes('CronJob')) {
      ctx.addIssue({
        code: 'custom',
        path: ['awaitNextJob'],
        message: 'awaitNextJob waits for the next Job of a CronJob: set kind: CronJob (or list it in kinds)',
      });
    }
  });

const wave = z
  .strictObject({
    count: z.int().min(1).optional(),
    percent: z.number().gt(0).max(100).optional(),
    // Bounded by default: a wave of 1,000 targets must not schedule 1,000 activities at once.
    maxParallel: z
      .int()
      .min(1)
      .max(
        1_000,
        'must be at most 1000: Temporal allows 2,000 pending activities per workflow, and each target in flight holds one',
      )
      .default(10),
  })
  .superRefine((v, ctx) => {
    if ((v.count === undefined) === (v.percent === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: "set exactly one of count (Deployments) or percent (of the stage's targets)",
      });
    }
  });

const httpCheck = z
  .strictObject({
    url: checkUrl,
    expectStatus: z.int().min(100).max(599).default(200),
    bodyMatch: z
      .string()
      .refine(
        (pattern) => {
          try {
            new RegExp(pattern);
            return true;
          } catch {
            return false;
          }
        },
        { error: 'not a valid regular expression' },
      )
      .optional(),
    timeout: durationWithin({
      min: requestTimeoutFloor,
      max: { ms: 30_000, why: 'a check answers within 30s or fails, like a Prometheus query' },
    }).prefault('5s'),
    ...checkAuthFields,
  })
  .superRefine(checkOneAuthorization);

const prometheusCheck = z
  .strictObject({
    url: checkUrl,
    query: z.string().min(1),
    max: z.number().optional(),
    min: z.number().optional(),
    interval: durationWithin({
      min: { ms: 100, why: 'checks more often than that run in a hot loop' },
    }).prefault('15s'),
    ...checkAuthFields,
  })
  .superRefine((v, ctx) => {
    if (v.max === undefined && v.min === undefined)
      ctx.addIssue({ code: 'custom', message: 'set max, min or both' });
    checkOneAuthorization(v, ctx);
  });

const check = z
  .strictObject({
    name: z.string().min(1).optional(),
    http: httpCheck.optional(),
    prometheus: prometheusCheck.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.http === undefined) === (v.prometheus === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a check is either http or prometheus' });
    }
  });

/** A plain name, or a name with the Ed25519 public key its signed decisions verify against. */
const approver = z.union([
  z.string().min(1),
  z
    .strictObject({
      name: z.string().min(1),
      publicKey: z
        .string()
        .superRefine((text, ctx) => {
          const problem = ed25519PublicKeyProblem(text);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      publicKeyFile: filePath.optional(),
    })
    .superRefine((v, ctx) => {
      if ((v.publicKey === undefined) === (v.publicKeyFile === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [v.publicKey === undefined ? 'publicKey' : 'publicKeyFile'],
          message: 'set exactly one of publicKey (PEM, OpenSSH or base64) or publicKeyFile',
        });
      }
    }),
]);

function approversConsistent(
  v: { approvers?: z.infer<typeof approver>[] | undefined; requireSignature: boolean },
  ctx: z.RefinementCtx,
) {
  const names = (v.approvers ?? []).map((a) => (typeof a === 'string' ? a : a.name));
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i)
      ctx.addIssue({ code: 'custom', path: ['approvers', i], message: `"${n}" is listed twice` });
  });
  if (!v.requireSignature) return;
  if (names.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['requireSignature'],
      message: 'requireSignature needs approvers with public keys: [ { name: …, publicKeyFile: … } ]',
    });
  }
  (v.approvers ?? []).forEach((a, i) => {
    if (typeof a === 'string')
      ctx.addIssue({
        code: 'custom',
        path: ['approvers', i],
        message: `"${a}" has no public key, so with requireSignature no decision of theirs could count`,
      });
  });
}

const stage = z.strictObject({
  name: name('stage'),
  cluster: z.string().min(1),
  targets: z.array(target).min(1, 'a stage needs at least one target'),
  waves: z
    .array(wave)
    .min(1)
    .prefault([{ percent: 100 }]),
  health: z
    .strictObject({
      rolloutTimeout: durationWithin({
        min: { ms: 1_000, why: 'no Deployment becomes ready sooner, so every update would fail' },
      }).prefault('5m'),
      soak: duration.prefault('0s'),
      checks: z.array(check).default([]),
    })
    .prefault({}),
  approval: z
    .strictObject({
      required: z.boolean().default(true),
      timeout: durationWithin({
        min: {
          ms: 1_000,
          why: 'a shorter approval timeout ends the rollout before anyone can decide',
        },
      }).prefault('24h'),
      approvers: z.array(approver).optional(),
      requireSignature: z.boolean().default(false),
    })
    .superRefine(approversConsistent)
    .optional(),
  windows: z
    .array(changeWindow)
    .min(1, 'leave windows out for a stage that may roll out at any time')
    .optional(),
});

const pipeline = z.strictObject({
  stages: z.array(stage).min(1, 'a pipeline needs at least one stage'),
  onNewerDigest: z.enum(['supersede', 'queue']).default('supersede'),
});

/** Kubernetes label keys and values, as a label selector names them. */
const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    'not a valid label key (like app.kubernetes.io/part-of)',
  );
const labelValue = z
  .string()
  .regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'not a valid label value');
const namespaceName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'not a valid namespace name');

/** The fleet whose freshness Freshet reports, in or out of a pipeline (README: Inventory). */
const inventory = z
  .strictObject({
    clusters: z.array(z.string().min(1)).min(1).optional(),
    namespaces: z
      .array(z.union([z.literal('*'), namespaceName]))
      .min(1, 'name at least one namespace, or ["*"] for all of them')
      .superRefine((list, ctx) => {
        if (list.includes('*') && list.length > 1)
          ctx.addIssue({ code: 'custom', message: '"*" means every namespace; list no others beside it' });
        list.forEach((n, i) => {
          if (list.indexOf(n) !== i)
            ctx.addIssue({ code: 'custom', path: [i], message: `"${n}" is listed twice` });
        });
      }),
    selector: z.record(labelKey, labelValue).optional(),
    interval: durationWithin({
      min: { ms: 1_000, why: 'polling more often is a hot loop on the registry' },
    }).prefault('5m'),
    scanInterval: durationWithin({
      min: { ms: 1_000, why: 'listing every workload more often loads the API server for nothing' },
    }).prefault('1m'),
  })
  .optional();

// Workflow ids end in `@<instance>`, so the name may not hold an `@`, and it stays short.
const instancePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const instanceName = z
  .string()
  .regex(instancePattern, 'instance names use letters, digits, ".", "_" and "-" (like "prod"), at most 63');

const temporal = z
  .strictObject({
    address: hostPort.default('localhost:7233'),
    namespace: z.string().min(1).default('default'),
    taskQueue: z.string().min(1).default('freshet'),
    instance: instanceName.optional(),
    tls: z
      .strictObject({
        serverName: z.string().optional(),
        caFile: filePath.optional(),
        certFile: filePath.optional(),
        keyFile: filePath.optional(),
      })
      .optional(),
    ...secretRef('apiKey'),
  })
  .transform((t, ctx) => {
    // The instance defaults to the task queue: two deployments on two task queues never share an id.
    const instance = t.instance ?? t.taskQueue;
    if (!instancePattern.test(instance)) {
      ctx.addIssue({
        code: 'custom',
        path: ['instance'],
        message: `the task queue "${t.taskQueue}" cannot serve as the instance name; set temporal.instance (letters, digits, ".", "_" and "-")`,
      });
    }
    return { ...t, instance };
  })
  .prefault({});

/**
 * The daemon's Temporal worker: how many tasks it runs at once and how it asks for them. The
 * defaults are the SDK's; bench/README.md (`overhead`) measures what they change under load.
 */
const worker = z
  .strictObject({
    maxConcurrentActivities: z.int().min(1).max(10_000).default(100),
    maxConcurrentWorkflowTasks: z.int().min(2).max(1_000).default(40),
    activityTaskPollers: z.int().min(1).max(100).default(10),
    workflowTaskPollers: z.int().min(2).max(100).default(10),
    eagerActivities: z.int().min(0).max(1_000).default(3),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    temporal,
    worker,
    registries: z.array(registry.superRefine(checkEcrRegistry)).default([]),
    clusters: z.record(name('cluster'), cluster).default({}),
    images: z.array(image).default([]),
    pipelines: z.record(name('pipeline'), pipeline).default({}),
    inventory,
    metrics: z.strictObject({ listen: hostPort.default('0.0.0.0:9464') }).prefault({}),
    notifications: notificationsSchema,
    log: z
      .strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info') })
      .prefault({}),
  })
  .superRefine(checkReferences);

type Raw = z.output<typeof configSchema>;

/** Names must be unique, and every reference must point at something defined. */
function checkReferences(c: Raw, ctx: z.RefinementCtx): void {
  const known = (names: Iterable<string>) => [...names].join(', ') || 'none defined';
  const unique = (items: { name: string }[], path: string) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name))
        ctx.addIssue({ code: 'custom', path: [path, i, 'name'], message: `"${item.name}" is defined twice` });
      seen.add(item.name);
    });
  };
  unique(c.registries, 'registries');
  // Webhooks are routed by source (/webhooks/<source>), so each source may serve one registry.
  const sources = new Map<string, string>();
  c.registries.forEach((r, i) => {
    if (!r.webhook) return;
    const other = sources.get(r.webhook.source);
    if (other) {
      ctx.addIssue({
        code: 'custom',
        path: ['registries', i, 'webhook', 'source'],
        message: `registry "${other}" already receives ${r.webhook.source} webhooks; one registry per source`,
      });
    }
    sources.set(r.webhook.source, r.name);
  });
  unique(c.images, 'images');
  const registries = new Set(c.registries.map((r) => r.name));
  const pipelines = new Set(Object.keys(c.pipelines));
  const clusters = new Set(Object.keys(c.clusters));
  c.images.forEach((img, i) => {
    if (!registries.has(img.registry)) {
      ctx.addIssue({
        code: 'custom',
        path: ['images', i, 'registry'],
        message: `no registry named "${img.registry}" (registries: ${known(registries)})`,
      });
    }
    checkDeclaredBase(c, img, i, ctx);
    if (img.pipeline !== undefined && !pipelines.has(img.pipeline)) {
      ctx.addIssue({
        code: 'custom',
        path: ['images', i, 'pipeline'],
        message: `no pipeline named "${img.pipeline}" (pipelines: ${known(pipelines)})`,
      });
    }
  });
  for (const [pipelineName, p] of Object.entries(c.pipelines)) {
    const seen = new Set<string>();
    p.stages.forEach((s, i) => {
      const at = ['pipelines', pipelineName, 'stages', i];
      if (seen.has(s.name))
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'name'],
          message: `stage "${s.name}" is defined twice in this pipeline`,
        });
      seen.add(s.name);
      if (!clusters.has(s.cluster)) {
        ctx.addIssue({
          code: 'custom',
          path: [...at, 'cluster'],
          message: `no cluster named "${s.cluster}" (clusters: ${known(clusters)})`,
        });
      }
    });
  }
  c.inventory?.clusters?.forEach((cluster, i) => {
    if (!clusters.has(cluster))
      ctx.addIssue({
        code: 'custom',
        path: ['inventory', 'clusters', i],
        message: `no cluster named "${cluster}" (clusters: ${known(clusters)})`,
      });
  });
  checkTargetOwnership(c, ctx);
  checkNotificationPipelines(c.notifications, pipelines, ctx);
}

/** A declared base is another watched image, and following bases never comes back to the image. */
function checkDeclaredBase(c: Raw, img: Raw['images'][number], i: number, ctx: z.RefinementCtx): void {
  if (!img.base) return;
  const path = ['images', i, 'base', 'image'];
  const byName = new Map(c.images.map((other) => [other.name, other]));
  if (img.base.image === img.name) {
    ctx.addIssue({ code: 'custom', path, message: 'an image cannot be its own base' });
    return;
  }
  if (!byName.has(img.base.image)) {
    const names = c.images.map((other) => other.name).filter((n) => n !== img.name);
    ctx.addIssue({
      code: 'custom',
      path,
      message: `no image named "${img.base.image}" (images: ${names.join(', ') || 'none defined'}); the base must be watched too`,
    });
    return;
  }
  const chain = [img.name];
  for (
    let next = byName.get(img.base.image);
    next;
    next = next.base ? byName.get(next.base.image) : undefined
  ) {
    if (chain.includes(next.name)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `bases go round in a circle: ${[...chain, next.name].join(' → ')}`,
      });
      return;
    }
    chain.push(next.name);
  }
}

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type RegistryConfig = Config['registries'][number];
export type ImageConfig = Config['images'][number];
export type PipelineConfig = Config['pipelines'][string];
export type StageConfig = PipelineConfig['stages'][number];
export type TargetConfig = StageConfig['targets'][number];
export type WaveConfig = StageConfig['waves'][number];
export type CheckConfig = StageConfig['health']['checks'][number];
export type ClusterConfig = Config['clusters'][string];
export type TrackConfig = ImageConfig['track'];
export type InventoryConfig = NonNullable<Config['inventory']>;
