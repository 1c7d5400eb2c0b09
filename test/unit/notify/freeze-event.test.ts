// A freeze change as the sinks hear of it: who, why, since and until, the command that lifts it,
// a stable id per change, and a freeze of every pipeline reaching sinks limited to some pipelines.
import { describe, expect, it } from 'vitest';
import { freezeChangedEvent } from '../../../activities/freeze/index.ts';
import { describeEvent } from '../../../activities/notify/describe.ts';
import { notificationId } from '../../../activities/notify/events.ts';
import { sinksFor } from '../../../activities/notify/send.ts';
import { parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

const freeze = { reason: 'incident 42', by: 'oncall', since: '2026-12-01T08:00:00.000Z' };
const ctx = { namespace: 'default' };

describe('freeze notifications', () => {
  it('says who froze what and why, and how to lift it', () => {
    const event = freezeChangedEvent({
      kind: 'frozen',
      pipeline: 'web',
      freeze: { ...freeze, until: '2026-12-02T08:00:00.000Z' },
      at: '2026-12-01T08:00:01.000Z',
    });
    expect(event).toEqual({
      type: 'freeze.changed',
      change: 'frozen',
      pipeline: 'web',
      reason: 'incident 42',
      by: 'oncall',
      since: freeze.since,
      until: '2026-12-02T08:00:00.000Z',
      at: '2026-12-01T08:00:01.000Z',
    });
    const d = describeEvent(event, ctx);
    expect(d.title).toBe('Rollouts of pipeline web are frozen by oncall: incident 42');
    expect(d.commands).toEqual(['freshet unfreeze --pipeline web']);
    expect(d.facts).toContainEqual({ label: 'Until', value: '2026-12-02T08:00:00.000Z' });
    expect(notificationId(event)).toBe(`freeze/web/${freeze.since}/frozen`);
  });

  it('names who lifted a freeze of every pipeline, with an id of its own', () => {
    const event = freezeChangedEvent({
      kind: 'unfrozen',
      freeze,
      by: 'lead',
      at: '2026-12-01T09:00:00.000Z',
    });
    expect(event).not.toHaveProperty('pipeline');
    expect(event.liftedBy).toBe('lead');
    expect(describeEvent(event, ctx).title).toBe('The freeze of every pipeline was lifted by lead');
    expect(describeEvent(event, ctx).commands).toBeUndefined();
    expect(notificationId(event)).toBe(`freeze/*/${freeze.since}/unfrozen`);
  });

  it('reaches a sink limited to other pipelines when it freezes every pipeline, and only then', () => {
    const config = parseConfig(
      `${base}notifications:\n  sinks:\n    - { name: web-only, webhook: { url: "https://hooks.example/f", secretEnv: S }, pipelines: [web] }\n`,
      'test.yaml',
      { env: {} },
    );
    const all = freezeChangedEvent({ kind: 'frozen', freeze, at: freeze.since });
    const other = freezeChangedEvent({ kind: 'frozen', pipeline: 'batch', freeze, at: freeze.since });
    expect(sinksFor(config, all).map((s) => s.name)).toEqual(['web-only']);
    expect(sinksFor(config, other)).toEqual([]);
  });
});
