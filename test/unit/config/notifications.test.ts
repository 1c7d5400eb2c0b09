// The notifications section: sinks with exactly one kind, secrets by reference only, events and
// pipelines that exist, and no credentials in a webhook URL.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

const withNotifications = (yaml: string) => `${base}notifications:\n${yaml}`;

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('config: notifications', () => {
  it('takes a Slack sink and a signed webhook with defaults for events, pipelines and timeout', () => {
    const config = parseConfig(
      withNotifications(`  temporalUiUrl: http://temporal-ui:8233
  sinks:
    - { name: ops-slack, slack: { urlEnv: SLACK_URL }, events: [approval.waiting, rollout.rolled-back] }
    - { name: audit, webhook: { url: "https://audit.example/freshet", secretFile: /run/secrets/hook }, pipelines: [web] }
`),
      'test.yaml',
      { env: {} },
    );
    expect(config.notifications.sinks).toEqual([
      {
        name: 'ops-slack',
        slack: { urlEnv: 'SLACK_URL' },
        events: ['approval.waiting', 'rollout.rolled-back'],
        timeout: 5_000,
      },
      {
        name: 'audit',
        webhook: { url: 'https://audit.example/freshet', secretFile: '/run/secrets/hook' },
        pipelines: ['web'],
        timeout: 5_000,
      },
    ]);
    expect(config.notifications.staleAfter).toBe(7 * 86_400_000);
    expect(parseConfig(base, 'test.yaml', { env: {} }).notifications.sinks).toEqual([]);
  });

  it('refuses a sink of both or no kind, a literal Slack URL, an unknown event or pipeline and a duplicate', () => {
    expect(
      problems(
        withNotifications(`  sinks:
    - { name: a, slack: { urlEnv: A }, webhook: { url: "https://x.example", secretEnv: S } }
    - { name: b }
    - { name: c, slack: { url: "https://hooks.slack.com/services/T/B/secret" } }
    - { name: d, webhook: { url: "https://x.example" }, events: [rollout.exploded], pipelines: [nope] }
`),
      ),
    ).toEqual([
      'notifications.sinks[0].slack: set exactly one of slack or webhook',
      'notifications.sinks[1].slack: set exactly one of slack or webhook',
      'notifications.sinks[2].slack: unknown key "url" (check the spelling; see config/freshet.schema.json)',
      'notifications.sinks[2].slack.urlEnv: set exactly one of urlEnv (an environment variable name) or urlFile (a file path)',
      'notifications.sinks[3].webhook.secretEnv: set exactly one of secretEnv (an environment variable name) or secretFile (a file path)',
      'notifications.sinks[3].events[0]: unknown event "rollout.exploded" (events: rollout.started, approval.waiting, approval.approved, approval.rejected, rollout.rolled-back, rollback.stuck, rollout.succeeded, rollout.stopped, workload.stale, freeze.changed)',
      'notifications.sinks[3].pipelines[0]: no pipeline named "nope" (pipelines: web)',
    ]);
    expect(
      problems(
        withNotifications(
          '  sinks:\n    - { name: d, slack: { urlEnv: A } }\n    - { name: d, slack: { urlFile: /s } }\n',
        ),
      ),
    ).toEqual(['notifications.sinks[1].name: "d" is defined twice']);
    expect(
      problems(withNotifications('  sinks:\n    - { name: d, slack: { urlEnv: A }, pipelines: [nope] }\n')),
    ).toEqual(['notifications.sinks[0].pipelines[0]: no pipeline named "nope" (pipelines: web)']);
  });

  it('refuses credentials in a webhook URL without quoting them', () => {
    const found = problems(
      withNotifications(
        '  sinks:\n    - { name: h, webhook: { url: "https://u:hunter2@x.example/h", secretEnv: S } }\n',
      ),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^notifications\.sinks\[0\]\.webhook\.url: the URL carries credentials/);
    expect(found.join()).not.toContain('hunter2');
  });
});
