// images[].base names another watched image; the watch gets what it needs to resolve it.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { watchGroups } from '../../../worker/watches.ts';
import { base } from '../../support/config-yaml.ts';

const withImages = (lines: string) =>
  base.replace(
    '  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web }',
    lines,
  );

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('config: declared base images', () => {
  it('hands the watch the base with its registry host and tracking, across watch groups', () => {
    const config = parseConfig(
      withImages(`  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web, base: { image: debian } }
  - { name: debian, registry: local, repository: acme/debian, track: { semver: "^12" }, watchGroup: bases }`),
      'test.yaml',
      { env: {} },
    );
    const web = watchGroups(config).get('local')?.[0];
    expect(web?.base).toEqual({
      image: 'debian',
      registry: 'local',
      host: '127.0.0.1:5000',
      repository: 'acme/debian',
      track: { semver: '^12', includePrerelease: false },
    });
    expect(watchGroups(config).get('bases')?.[0]?.base).toBeUndefined();
  });

  it('refuses a base that is not watched, the image itself, or a circle of bases', () => {
    expect(
      problems(
        withImages(
          '  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web, base: { image: debian } }',
        ),
      ),
    ).toEqual([
      'images[0].base.image: no image named "debian" (images: none defined); the base must be watched too',
    ]);
    expect(
      problems(
        withImages(
          '  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web, base: { image: web } }',
        ),
      ),
    ).toEqual(['images[0].base.image: an image cannot be its own base']);
    expect(
      problems(
        withImages(`  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web, base: { image: a } }
  - { name: a, registry: local, repository: acme/a, track: { tag: "1" }, base: { image: b } }
  - { name: b, registry: local, repository: acme/b, track: { tag: "1" }, base: { image: a } }`),
      ),
    ).toEqual([
      'images[0].base.image: bases go round in a circle: web → a → b → a',
      'images[1].base.image: bases go round in a circle: a → b → a',
      'images[2].base.image: bases go round in a circle: b → a → b',
    ]);
    expect(
      problems(
        withImages(
          '  - { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web, base: { image: debian, tag: "12" } }',
        ),
      )[0],
    ).toMatch(/^images\[0\]\.base: /);
  });
});
