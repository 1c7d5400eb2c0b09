import { describe, expect, it } from 'vitest';
import { describeReference, referenceProblem } from '../../../activities/registry/references.ts';
import { isArtifactTag, nextPageUrl, normaliseTags } from '../../../activities/registry/tag-list.ts';

const hex = 'a'.repeat(64);

describe('isArtifactTag', () => {
  it('recognises cosign signature, attestation and SBOM tags', () => {
    expect(isArtifactTag(`sha256-${hex}`)).toBe(true);
    expect(isArtifactTag(`sha256-${hex}.sig`)).toBe(true);
    expect(isArtifactTag(`sha256-${hex}.att`)).toBe(true);
    expect(isArtifactTag(`sha256-${hex}.sbom`)).toBe(true);
  });

  it('keeps ordinary tags, including ones that merely look similar', () => {
    expect(isArtifactTag('1.4')).toBe(false);
    expect(isArtifactTag(`sha256-${hex.slice(1)}.sig`)).toBe(false);
    expect(isArtifactTag(`sha256-${hex}.tar`)).toBe(false);
    expect(isArtifactTag(`sha256-${hex.toUpperCase()}`)).toBe(false);
    expect(isArtifactTag(`v-sha256-${hex}`)).toBe(false);
  });
});

describe('normaliseTags', () => {
  it('deduplicates, drops artifact tags and sorts by code point', () => {
    expect(normaliseTags(['v1.2.0', 'latest', `sha256-${hex}.sig`, 'Z', 'v1.2.0', '1.10', '1.9'])).toEqual([
      '1.10',
      '1.9',
      'Z',
      'latest',
      'v1.2.0',
    ]);
  });
});

describe('nextPageUrl', () => {
  const page = new URL('https://reg.example/v2/acme/web/tags/list?n=2');

  it('resolves a relative rel="next" link against the page', () => {
    const next = nextPageUrl('</v2/acme/web/tags/list?n=2&last=b>; rel="next"', page);
    expect(next?.href).toBe('https://reg.example/v2/acme/web/tags/list?n=2&last=b');
  });

  it('finds next among several links and unquoted or multi-valued rel', () => {
    expect(
      nextPageUrl('<https://reg.example/p0>; rel="prev", <https://reg.example/p2>; rel=next', page)?.href,
    ).toBe('https://reg.example/p2');
    expect(nextPageUrl('<https://reg.example/p3>; type="x"; rel="last next"', page)?.href).toBe(
      'https://reg.example/p3',
    );
  });

  it('is undefined without a next link', () => {
    expect(nextPageUrl(null, page)).toBeUndefined();
    expect(nextPageUrl('<https://reg.example/p0>; rel="prev"', page)).toBeUndefined();
    expect(nextPageUrl('garbage', page)).toBeUndefined();
  });
});

describe('references', () => {
  it('accepts repository names, tags and digests of the distribution grammar', () => {
    expect(referenceProblem('acme/web', '1.4')).toBeUndefined();
    expect(referenceProblem('library/debian', `sha256:${hex}`)).toBeUndefined();
    expect(referenceProblem('a-b.c__d/e', '_x.y-z')).toBeUndefined();
    expect(referenceProblem('acme/web')).toBeUndefined();
  });

  it('names what is wrong before any request goes out', () => {
    expect(referenceProblem('Acme/Web', '1.4')).toBe('invalid repository name "Acme/Web"');
    expect(referenceProblem('acme//web', '1.4')).toMatch(/invalid repository/);
    expect(referenceProblem('acme/web', '../x')).toBe('invalid tag "../x"');
    expect(referenceProblem('acme/web', '.hidden')).toBe('invalid tag ".hidden"');
    expect(referenceProblem('acme/web', 'sha256:abc')).toMatch(/invalid digest "sha256:abc"/);
  });

  it('writes targets the way people write image references', () => {
    expect(describeReference('acme/web', '1.4')).toBe('acme/web:1.4');
    expect(describeReference('acme/web', `sha256:${hex}`)).toBe(`acme/web@sha256:${hex}`);
  });
});
