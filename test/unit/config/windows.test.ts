// Stage windows in the config: a time zone this Node does not know, a time that is not a clock
// time, an empty window or a day that does not exist is refused at load, with the path; a good
// window reaches the rollout's spec as written, with every day when days are left out.
import { describe, expect, it } from 'vitest';
import { pipelineSpec } from '../../../activities/rollout/pipeline-spec.ts';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

const withWindows = (windows: string) =>
  base.replace('        targets: [', `        windows: ${windows}\n        targets: [`);
const at = 'pipelines.web.stages[0].windows[0]';

describe('config: stage windows', () => {
  it('refuses a time zone that does not exist, naming the stage and the zone', () => {
    expect(problems(withWindows('[ { from: "09:00", to: "17:00", timeZone: Europe/Berlln } ]'))).toEqual([
      `${at}.timeZone: unknown time zone "Europe/Berlln" (use an IANA name such as Europe/Berlin, America/New_York or UTC)`,
    ]);
  });

  it('refuses a fixed offset, which does not follow daylight saving', () => {
    expect(problems(withWindows('[ { from: "09:00", to: "17:00", timeZone: "+01:00" } ]'))).toEqual([
      `${at}.timeZone: "+01:00" is not an IANA time zone name (such as Europe/Berlin or America/New_York)`,
    ]);
  });

  it('refuses times that are not clock times, an empty window and unknown days', () => {
    expect(problems(withWindows('[ { from: "9am", to: "25:00", timeZone: UTC } ]'))).toEqual([
      `${at}.from: expected a time such as 09:00 or 17:30:00 (00:00 to 24:00)`,
      `${at}.to: expected a time such as 09:00 or 17:30:00 (00:00 to 24:00)`,
    ]);
    expect(problems(withWindows('[ { from: "09:00", to: "09:00", timeZone: UTC } ]'))).toEqual([
      `${at}.to: a window from and to the same time is empty; use from 00:00 to 24:00 for a whole day`,
    ]);
    expect(
      problems(withWindows('[ { days: [monday], from: "09:00", to: "10:00", timeZone: UTC } ]')),
    ).toEqual([`${at}.days[0]: days are mon, tue, wed, thu, fri, sat, sun`]);
    expect(problems(withWindows('[]'))).toEqual([
      'pipelines.web.stages[0].windows: leave windows out for a stage that may roll out at any time',
    ]);
  });

  it('passes windows to the rollout spec, every day when days are left out, spanning midnight allowed', () => {
    const config = parseConfig(
      withWindows(
        '[ { days: [mon, fri], from: "09:00", to: "17:00", timeZone: Europe/Berlin }, { from: "22:00", to: "06:00", timeZone: America/New_York } ]',
      ),
      'test.yaml',
      { env: {} },
    );
    const web = config.pipelines.web;
    if (!web) throw new Error('no pipeline web');
    expect(pipelineSpec('web', web).stages[0]?.windows).toEqual([
      { days: ['mon', 'fri'], from: '09:00', to: '17:00', timeZone: 'Europe/Berlin' },
      {
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        from: '22:00',
        to: '06:00',
        timeZone: 'America/New_York',
      },
    ]);
  });
});
