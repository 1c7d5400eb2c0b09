// One event as people read it: a title, labelled facts (image, digests, stage, who) and, for an
// approval, where to decide. Both sinks render this; the signed webhook also sends the event.
import type { NotificationEvent } from './events.ts';

export interface DescribeContext {
  /** Base URL of the Temporal Web UI, for links to the rollout. */
  temporalUiUrl?: string | undefined;
  namespace: string;
}

export interface EventDescription {
  title: string;
  facts: { label: string; value: string }[];
  /** The rollout in the Temporal UI. */
  link?: string;
  /** Exact CLI commands that act on it, such as `freshet approve …`. */
  commands?: string[];
}

const digestOf = (image: string) => {
  const at = image.lastIndexOf('@');
  return at >= 0 ? image.slice(at + 1) : image;
};

export function workflowLink(base: string, namespace: string, workflowId: string): string {
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

const duration = (seconds: number) => {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', `${s % 60}s`].filter(Boolean);
  return parts.slice(0, 2).join(' ');
};

export function describeEvent(event: NotificationEvent, ctx: DescribeContext): EventDescription {
  if (event.type === 'workload.stale') {
    return {
      title: `${event.namespace}/${event.workload} has run an old build of ${event.image} for ${duration(event.staleSeconds)}`,
      facts: [
        { label: 'Workload', value: `${event.namespace}/${event.workload} (container ${event.container})` },
        { label: 'Pipeline', value: `${event.pipeline}, stage ${event.stage}` },
        { label: 'Running digest', value: event.runningDigest ?? 'unknown' },
        { label: 'Newest digest', value: event.latestDigest ?? 'unknown' },
        { label: 'Behind since', value: event.behindSince },
      ],
    };
  }
  if (event.type === 'freeze.changed') {
    const scope = event.pipeline ? `pipeline ${event.pipeline}` : 'every pipeline';
    const title =
      event.change === 'frozen'
        ? `Rollouts of ${scope} are frozen by ${event.by}: ${event.reason}`
        : event.change === 'unfrozen'
          ? `The freeze of ${scope} was lifted${event.liftedBy ? ` by ${event.liftedBy}` : ''}`
          : `The freeze of ${scope} expired`;
    return {
      title,
      facts: [
        { label: 'Scope', value: scope },
        { label: 'Reason', value: event.reason },
        { label: 'Frozen by', value: event.by },
        { label: 'Since', value: event.since },
        ...(event.until ? [{ label: 'Until', value: event.until }] : []),
      ],
      ...(event.change === 'frozen'
        ? { commands: [`freshet unfreeze${event.pipeline ? ` --pipeline ${event.pipeline}` : ''}`] }
        : {}),
    };
  }
  const r = event.rollout;
  const facts = [
    { label: 'Image', value: `${r.reference} (${r.image})` },
    { label: 'New digest', value: r.digest },
    {
      label: 'Old digest',
      value: event.previousImages.length
        ? [...new Set(event.previousImages.map(digestOf))].join(', ')
        : 'unknown',
    },
    { label: 'Stage', value: event.stage },
    { label: 'Pipeline', value: r.pipeline },
    { label: 'Rollout', value: r.rolloutId },
  ];
  const link = ctx.temporalUiUrl ? workflowLink(ctx.temporalUiUrl, ctx.namespace, r.rolloutId) : undefined;
  const base = { facts, ...(link ? { link } : {}) };
  const digest = r.digest.slice(0, 19);
  switch (event.type) {
    case 'rollout.started':
      return { ...base, title: `Rolling out ${r.reference}@${digest}… (${r.pipeline})` };
    case 'approval.waiting':
      return {
        ...base,
        title: `Approval waiting: stage ${event.stage} of ${r.pipeline} for ${r.reference}@${digest}…`,
        facts: [
          ...facts,
          { label: 'Deadline', value: event.deadline },
          ...(event.approvers?.length ? [{ label: 'Approvers', value: event.approvers.join(', ') }] : []),
        ],
        commands: [
          `freshet approve ${r.rolloutId} --by <your-name>`,
          `freshet reject ${r.rolloutId} --by <your-name> --comment <why>`,
        ],
      };
    case 'approval.approved':
    case 'approval.rejected':
      return {
        ...base,
        title: `Stage ${event.stage} of ${r.pipeline} ${event.type === 'approval.approved' ? 'approved' : 'rejected'} by ${event.by}`,
        facts: [
          ...facts,
          { label: event.type === 'approval.approved' ? 'Approved by' : 'Rejected by', value: event.by },
          ...(event.comment ? [{ label: 'Comment', value: event.comment }] : []),
        ],
      };
    case 'rollout.rolled-back':
      return {
        ...base,
        title: `Rolled back stage ${event.stage} of ${r.pipeline}: ${event.reasonLabel}`,
        facts: [
          ...facts,
          { label: 'Reason', value: event.reason },
          { label: 'Reverted', value: String(event.reverted) },
          ...(event.problems.length ? [{ label: 'Problems', value: event.problems.join('; ') }] : []),
        ],
      };
    case 'rollback.stuck':
      return {
        ...base,
        title: `Rollback stuck in stage ${event.stage} of ${r.pipeline}: ${event.target} cannot be patched back`,
        facts: [...facts, { label: 'Target', value: event.target }, { label: 'Error', value: event.error }],
        commands: [`freshet abort ${r.rolloutId} --by <your-name>`],
      };
    case 'rollout.succeeded':
      return {
        ...base,
        title: `${r.reference}@${digest}… is in ${event.stage} (${r.pipeline}) after ${duration(event.timeToProductionSeconds)}`,
        facts: [...facts, { label: 'Time to production', value: duration(event.timeToProductionSeconds) }],
      };
    case 'rollout.stopped':
      return {
        ...base,
        title: `Rollout of ${r.reference}@${digest}… (${r.pipeline}) ended ${event.outcome}`,
        facts: [...facts, { label: 'Reason', value: event.reason }],
      };
  }
}
