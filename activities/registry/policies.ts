// Which tag an image follows. Pure functions of the tag list, so the watcher can explain every
// choice and tests cover every edge without a registry.
import semver from 'semver';
import { isArtifactTag } from './tag-list.ts';

export type TagPolicy =
  /** One tag; a rebuild shows up as a new digest behind it. */
  | { tag: string }
  /** The highest version tag in the range (`v` prefix allowed; prereleases only when asked). */
  | { semver: string; includePrerelease?: boolean }
  /** Tags matching a regular expression with one capture group, ordered by the captured value. */
  | { pattern: string; order: 'numerical' | 'alphabetical' };

export type TagChoice = { tag: string; reason?: undefined } | { tag: undefined; reason: string };

/** Why a policy can never choose anything (bad range, bad regex), for the config loader. */
export function policyProblem(policy: TagPolicy): string | undefined {
  if ('tag' in policy) return policy.tag ? undefined : 'tag must not be empty';
  if ('semver' in policy) return rangeOf(policy.semver).problem;
  return patternOf(policy.pattern).problem;
}

/**
 * The tag a policy picks from a repository's tags. Artifact tags (cosign signatures,
 * attestations) never count. Ties go to the greatest tag string, so the answer does not depend
 * on the order the registry listed tags in.
 */
export function chooseTag(policy: TagPolicy, tags: readonly string[]): TagChoice {
  const imageTags = tags.filter((t) => !isArtifactTag(t));
  if ('tag' in policy) return chooseFixed(policy.tag, imageTags);
  if ('semver' in policy) return chooseSemver(policy.semver, policy.includePrerelease ?? false, imageTags);
  return choosePattern(policy.pattern, policy.order, imageTags);
}

function chooseFixed(tag: string, tags: readonly string[]): TagChoice {
  if (!tag) return { tag: undefined, reason: 'tag must not be empty' };
  return tags.includes(tag)
    ? { tag }
    : { tag: undefined, reason: `tag ${tag} not found among ${count(tags)}` };
}

function rangeOf(range: string): { range?: string; problem?: string } {
  if (!range.trim()) return { problem: "empty semver range (use '*' for any version)" };
  const valid = semver.validRange(range);
  return valid ? { range: valid } : { problem: `invalid semver range ${JSON.stringify(range)}` };
}

/**
 * A tag as a version: `1.4.2`, `v1.4.2`, `1.4.2-rc.1`, and `1.4.2_build.5` (tags cannot hold
 * `+`, so OCI tools such as Helm write build metadata with `_`). Partial versions such as `1.4`
 * are skipped on purpose: they are floating aliases that move with every patch release.
 */
export function versionOfTag(tag: string): semver.SemVer | undefined {
  const text = tag.startsWith('v') ? tag.slice(1) : tag;
  const candidate = semver.valid(text) ? text : text.replace('_', '+');
  return semver.parse(candidate) ?? undefined;
}

function chooseSemver(range: string, includePrerelease: boolean, tags: readonly string[]): TagChoice {
  const parsed = rangeOf(range);
  if (!parsed.range) return { tag: undefined, reason: parsed.problem ?? 'invalid semver range' };
  const versions = tags.flatMap((tag) => {
    const version = versionOfTag(tag);
    return version ? [{ tag, version }] : [];
  });
  const matching = versions.filter((v) => semver.satisfies(v.version, range, { includePrerelease }));
  const best = matching
    .sort((a, b) => semver.compareBuild(a.version, b.version) || compareText(a.tag, b.tag))
    .at(-1);
  if (best) return { tag: best.tag };

  let reason = `no tag satisfies ${range} among ${count(tags)} (${versions.length} versions)`;
  if (
    !includePrerelease &&
    versions.some((v) => semver.satisfies(v.version, range, { includePrerelease: true }))
  ) {
    reason += '; prereleases would match but includePrerelease is off';
  }
  return { tag: undefined, reason };
}

function patternOf(pattern: string): { regex?: RegExp; problem?: string } {
  let regex: RegExp;
  try {
    regex = new RegExp(pattern);
  } catch (err) {
    return { problem: `invalid pattern ${JSON.stringify(pattern)}: ${(err as Error).message}` };
  }
  // An alternation with the empty string matches '' and reveals the number of groups.
  const groups = (new RegExp(`${pattern}|`).exec('')?.length ?? 1) - 1;
  if (groups !== 1) {
    return { problem: `pattern ${JSON.stringify(pattern)} needs exactly one capture group, has ${groups}` };
  }
  return { regex };
}

function choosePattern(
  pattern: string,
  order: 'numerical' | 'alphabetical',
  tags: readonly string[],
): TagChoice {
  const parsed = patternOf(pattern);
  if (!parsed.regex) return { tag: undefined, reason: parsed.problem ?? 'invalid pattern' };
  const regex = parsed.regex;
  const matches = tags.flatMap((tag) => {
    const value = regex.exec(tag)?.[1];
    return value === undefined ? [] : [{ tag, value }];
  });
  const ordered = order === 'numerical' ? matches.filter((m) => isNumber(m.value)) : matches;
  const compare = order === 'numerical' ? compareNumbers : compareText;
  const best = ordered.sort((a, b) => compare(a.value, b.value) || compareText(a.tag, b.tag)).at(-1);
  if (best) return { tag: best.tag };
  if (matches.length > 0) {
    return { tag: undefined, reason: `${count(matches)} match /${pattern}/ but none captured a number` };
  }
  return { tag: undefined, reason: `no tag matches /${pattern}/ among ${count(tags)}` };
}

const numberPattern = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const isNumber = (value: string) => numberPattern.test(value);

/** Integers compare exactly at any length (build numbers, timestamps); decimals as doubles. */
function compareNumbers(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) {
    const diff = BigInt(a) - BigInt(b);
    return diff === 0n ? 0 : diff > 0n ? 1 : -1;
  }
  return Math.sign(Number(a) - Number(b));
}

/** Code-point order, not locale order: `Z` < `a`, as registries and Flux sort. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const count = (items: readonly unknown[]) => `${items.length} tag${items.length === 1 ? '' : 's'}`;
