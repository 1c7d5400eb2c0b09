import { describe, expect, it } from 'vitest';
import { chooseTag, policyProblem, versionOfTag } from '../../../activities/registry/policies.ts';

const signature = `sha256-${'f'.repeat(64)}.sig`;

describe('fixed tag policy', () => {
  it('follows the one tag when the repository has it', () => {
    expect(chooseTag({ tag: '1.4' }, ['1.3', '1.4', 'latest'])).toEqual({ tag: '1.4' });
  });

  it('explains a missing tag', () => {
    expect(chooseTag({ tag: '1.4' }, ['1.3'])).toEqual({
      tag: undefined,
      reason: 'tag 1.4 not found among 1 tag',
    });
  });
});

describe('semver policy', () => {
  const tags = ['1.3.9', '1.4.0', '1.4.2', '1.10.1', '2.0.0', '1.11.0-rc.1', 'latest', '1.12', signature];

  it('picks the highest version in the range, numerically not lexically', () => {
    expect(chooseTag({ semver: '^1.4' }, tags)).toEqual({ tag: '1.10.1' });
    expect(chooseTag({ semver: '~1.4' }, tags)).toEqual({ tag: '1.4.2' });
    expect(chooseTag({ semver: '*' }, tags)).toEqual({ tag: '2.0.0' });
  });

  it('takes prereleases only when asked', () => {
    expect(chooseTag({ semver: '^1.4', includePrerelease: true }, tags)).toEqual({ tag: '1.11.0-rc.1' });
    expect(chooseTag({ semver: '>=1.11.0-0 <1.12.0' }, ['1.11.0-rc.1', '1.11.0-rc.2'])).toEqual({
      tag: '1.11.0-rc.2',
    });
  });

  it('says when only prereleases would have matched', () => {
    expect(chooseTag({ semver: '^1.11' }, ['1.10.0', '1.11.0-rc.1'])).toEqual({
      tag: undefined,
      reason:
        'no tag satisfies ^1.11 among 2 tags (2 versions); prereleases would match but includePrerelease is off',
    });
  });

  it('accepts a leading v and returns the tag as written', () => {
    expect(chooseTag({ semver: '^1.4' }, ['v1.4.0', 'v1.5.3', 'v2.0.0'])).toEqual({ tag: 'v1.5.3' });
    expect(versionOfTag('V1.0.0')).toBeUndefined();
  });

  it('ignores partial versions and other floating tags', () => {
    expect(chooseTag({ semver: '^1.4' }, ['1.4', '1.5', 'latest', 'stable', '1.4.1'])).toEqual({
      tag: '1.4.1',
    });
    expect(chooseTag({ semver: '^1.4' }, ['1.4', '1.5', 'latest'])).toEqual({
      tag: undefined,
      reason: 'no tag satisfies ^1.4 among 3 tags (0 versions)',
    });
  });

  it('reads build metadata written with _ and orders it after the plain version', () => {
    expect(versionOfTag('1.4.2_build.5')?.build).toEqual(['build', '5']);
    expect(chooseTag({ semver: '^1.4' }, ['1.4.2', '1.4.2_build.5', '1.4.1_build.9'])).toEqual({
      tag: '1.4.2_build.5',
    });
  });

  it('breaks ties between spellings of one version by tag string, whatever the listing order', () => {
    expect(chooseTag({ semver: '^1.4' }, ['v1.4.2', '1.4.2'])).toEqual({ tag: 'v1.4.2' });
    expect(chooseTag({ semver: '^1.4' }, ['1.4.2', 'v1.4.2'])).toEqual({ tag: 'v1.4.2' });
  });

  it('rejects an invalid or empty range with a reason', () => {
    expect(chooseTag({ semver: 'one point four' }, tags)).toEqual({
      tag: undefined,
      reason: 'invalid semver range "one point four"',
    });
    expect(policyProblem({ semver: ' ' })).toMatch(/empty semver range/);
    expect(policyProblem({ semver: '^1.4' })).toBeUndefined();
  });

  it('never picks artifact tags', () => {
    expect(chooseTag({ semver: '*' }, [signature])).toMatchObject({ tag: undefined });
  });
});

describe('pattern policy', () => {
  const tags = ['9-alpine', '10-alpine', '11-alpine-rc', '8-slim', 'alpine', signature];

  it('orders numerical captures as numbers', () => {
    expect(chooseTag({ pattern: '^(\\d+)-alpine$', order: 'numerical' }, tags)).toEqual({ tag: '10-alpine' });
  });

  it('orders alphabetical captures by code point', () => {
    expect(chooseTag({ pattern: '^(\\d+)-alpine$', order: 'alphabetical' }, tags)).toEqual({
      tag: '9-alpine',
    });
    expect(chooseTag({ pattern: '^main-(\\w+)$', order: 'alphabetical' }, ['main-Zed', 'main-abc'])).toEqual({
      tag: 'main-abc',
    });
  });

  it('compares long build numbers and timestamps exactly, and decimals as numbers', () => {
    const big = ['build-90071992547409930', 'build-90071992547409931'];
    expect(chooseTag({ pattern: '^build-(\\d+)$', order: 'numerical' }, big)).toEqual({ tag: big[1] });
    expect(chooseTag({ pattern: '^r(.+)$', order: 'numerical' }, ['r1.5', 'r1.25', 'r1.10'])).toEqual({
      tag: 'r1.5',
    });
  });

  it('skips tags whose capture is not a number, and says so when none is', () => {
    expect(
      chooseTag({ pattern: '^(\\w+)-alpine$', order: 'numerical' }, ['edge-alpine', '3-alpine']),
    ).toEqual({
      tag: '3-alpine',
    });
    expect(chooseTag({ pattern: '^(\\w+)-alpine$', order: 'numerical' }, ['edge-alpine'])).toEqual({
      tag: undefined,
      reason: '1 tag match /^(\\w+)-alpine$/ but none captured a number',
    });
  });

  it('breaks ties on equal captures by tag string', () => {
    const ties = ['3-slim', '3-alpine', '2-bookworm'];
    expect(chooseTag({ pattern: '^(\\d+)-', order: 'numerical' }, ties)).toEqual({ tag: '3-slim' });
    expect(chooseTag({ pattern: '^(\\d+)-', order: 'numerical' }, [...ties].reverse())).toEqual({
      tag: '3-slim',
    });
  });

  it('explains no match, an invalid regex and the wrong number of groups', () => {
    expect(chooseTag({ pattern: '^(\\d+)-musl$', order: 'numerical' }, tags)).toEqual({
      tag: undefined,
      reason: 'no tag matches /^(\\d+)-musl$/ among 5 tags', // the signature tag does not count
    });
    expect(chooseTag({ pattern: '^(\\d+', order: 'numerical' }, tags).reason).toMatch(
      /^invalid pattern "\^\(\\\\d\+": /,
    );
    expect(policyProblem({ pattern: '^\\d+-alpine$', order: 'numerical' })).toBe(
      'pattern "^\\\\d+-alpine$" needs exactly one capture group, has 0',
    );
    expect(policyProblem({ pattern: '^(\\d+)\\.(\\d+)$', order: 'numerical' })).toMatch(/has 2$/);
    expect(policyProblem({ pattern: '^(?:v)?(?<n>\\d+)$', order: 'numerical' })).toBeUndefined();
  });

  it('skips tags where the one group did not take part in the match', () => {
    expect(chooseTag({ pattern: '^x|^(\\d+)$', order: 'numerical' }, ['xyz', '7'])).toEqual({ tag: '7' });
  });

  it('never picks artifact tags even when the pattern matches them', () => {
    expect(chooseTag({ pattern: '^sha256-(\\w+)', order: 'alphabetical' }, [signature])).toEqual({
      tag: undefined,
      reason: 'no tag matches /^sha256-(\\w+)/ among 0 tags',
    });
  });
});
