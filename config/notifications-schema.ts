// The `notifications` section: named sinks (a Slack incoming webhook or a signed JSON webhook),
// the events and pipelines each wants, and the threshold of the staleness notification. Every
// secret, the Slack URL included, is named by …Env/…File and read where it is sent.
import { z } from 'zod';
import { notificationEventTypes } from '../activities/notify/events.ts';
import { durationWithin } from './duration-schema.ts';
import { exactlyOneSecret, secretRef } from './secret-refs.ts';
import { credentialsIn } from './url-credentials.ts';

const sinkName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'sink names use lowercase letters, digits and dashes (like "ops-slack"), at most 63',
  );

const webhookUrl = z.url({ protocol: /^https?$/ }).superRefine((url, ctx) => {
  const found = credentialsIn(url);
  if (found)
    ctx.addIssue({
      code: 'custom',
      message: `the URL carries ${found.kind === 'userinfo' ? 'credentials (user:password@)' : `the secret-looking query parameter "${found.parameter}"`}; it would show in logs. The request is signed with secretEnv/secretFile instead`,
    });
});

const eventTypes: readonly string[] = notificationEventTypes;
const eventType = z.string().superRefine((v, ctx) => {
  if (!eventTypes.includes(v))
    ctx.addIssue({ code: 'custom', message: `unknown event "${v}" (events: ${eventTypes.join(', ')})` });
});

const sink = z
  .strictObject({
    name: sinkName,
    slack: z
      .strictObject({ ...secretRef('url') })
      .superRefine(exactlyOneSecret('url'))
      .optional(),
    webhook: z
      .strictObject({ url: webhookUrl, ...secretRef('secret') })
      .superRefine(exactlyOneSecret('secret'))
      .optional(),
    // Strings checked against the list rather than an enum, so the error names every event.
    events: z.array(eventType).min(1, 'list at least one event, or leave events out for all').optional(),
    pipelines: z
      .array(z.string().min(1))
      .min(1, 'list at least one pipeline, or leave pipelines out for all')
      .optional(),
    timeout: durationWithin({
      min: { ms: 100, why: 'a sink gets no chance to answer' },
      max: { ms: 30_000, why: 'a slow sink would hold a worker slot for each event' },
    }).prefault('5s'),
  })
  .superRefine((s, ctx) => {
    if ((s.slack === undefined) === (s.webhook === undefined))
      ctx.addIssue({ code: 'custom', path: ['slack'], message: 'set exactly one of slack or webhook' });
  });

export const notificationsSchema = z
  .strictObject({
    temporalUiUrl: z.url({ protocol: /^https?$/ }).optional(),
    staleAfter: durationWithin({
      min: { ms: 60_000, why: 'a workload is behind for a moment after every push' },
    }).prefault('7d'),
    sinks: z.array(sink).default([]),
  })
  .superRefine((n, ctx) => {
    const seen = new Set<string>();
    n.sinks.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `"${s.name}" is defined twice` });
      seen.add(s.name);
    });
  })
  .prefault({});

export type NotificationsConfig = z.output<typeof notificationsSchema>;
export type SinkConfig = NotificationsConfig['sinks'][number];

/** Every sink's pipelines exist. */
export function checkNotificationPipelines(
  n: NotificationsConfig,
  pipelines: ReadonlySet<string>,
  ctx: z.RefinementCtx,
): void {
  n.sinks.forEach((s, i) => {
    s.pipelines?.forEach((p, j) => {
      if (!pipelines.has(p))
        ctx.addIssue({
          code: 'custom',
          path: ['notifications', 'sinks', i, 'pipelines', j],
          message: `no pipeline named "${p}" (pipelines: ${[...pipelines].join(', ') || 'none defined'})`,
        });
    });
  });
}
