import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load.ts';
import { watchGroups } from '../../../worker/watches.ts';

describe('watch groups', () => {
  it('groups images by watchGroup, else by registry, and carries only non-secret fields', () => {
    const config = parseConfig(
      `
registries:
  - { name: a, url: "http://a:5000", auth: { type: basic, username: u, passwordEnv: P } }
  - { name: b, url: "http://b:5000" }
images:
  - { name: web, registry: a, repository: acme/web, track: { tag: "1.4" }, interval: 30s }
  - { name: api, registry: a, repository: acme/api, track: { semver: "^2" } }
  - { name: db, registry: b, repository: acme/db, track: { pattern: '^(\\d+)$' }, watchGroup: slow }
`,
      't',
      { env: {} },
    );
    const groups = watchGroups(config);
    expect([...groups.keys()]).toEqual(['a', 'slow']);
    expect(groups.get('a')).toEqual([
      {
        name: 'web',
        registry: 'a',
        repository: 'acme/web',
        track: { tag: '1.4' },
        intervalMs: 30_000,
        platform: 'linux/amd64',
      },
      {
        name: 'api',
        registry: 'a',
        repository: 'acme/api',
        track: { semver: '^2', includePrerelease: false },
        intervalMs: 60_000,
        platform: 'linux/amd64',
      },
    ]);
    expect(groups.get('slow')?.[0]?.track).toEqual({ pattern: '^(\\d+)$', order: 'numerical' });
    expect(JSON.stringify([...groups.values()])).not.toMatch(/password|usernameEnv|"P"/);
  });

  it("watches Docker Hub's official images under library/, and other registries' names as written", () => {
    const config = parseConfig(
      `
registries:
  - { name: hub, url: "https://docker.io" }
  - { name: index, url: "https://index.docker.io" }
  - { name: local, url: "http://127.0.0.1:5000" }
images:
  - { name: nginx, registry: hub, repository: nginx, track: { tag: "1.27" } }
  - { name: redis, registry: index, repository: redis, track: { tag: "7" } }
  - { name: app, registry: hub, repository: user/app, track: { tag: "1" } }
  - { name: plain, registry: local, repository: nginx, track: { tag: "1" } }
`,
      't',
      { env: {} },
    );
    const repositories = [...watchGroups(config).values()].flat().map((i) => [i.name, i.repository]);
    expect(repositories).toEqual([
      ['nginx', 'library/nginx'],
      ['app', 'user/app'],
      ['redis', 'library/redis'],
      ['plain', 'nginx'],
    ]);
  });
});

describe('watch groups with the inventory', () => {
  it("adds each watch-only image to its registry's own group, beside the configured images", () => {
    const config = parseConfig(
      `
registries: [ { name: a, url: "http://a:5000" }, { name: b, url: "http://b:5000" } ]
images:
  - { name: web, registry: a, repository: acme/web, track: { tag: "1.4" } }
  - { name: db, registry: b, repository: acme/db, track: { tag: "16" }, watchGroup: slow }
`,
      't',
      { env: {} },
    );
    const found = (registry: string, repository: string) => ({
      name: `${registry}:5000/${repository}:1`,
      registry,
      repository,
      track: { tag: '1' },
      intervalMs: 300_000,
      platform: 'linux/amd64',
    });
    const groups = watchGroups(config, [found('a', 'acme/tools'), found('b', 'acme/cache')]);
    expect([...groups.keys()]).toEqual(['a', 'slow', 'b']);
    expect(groups.get('a')?.map((i) => i.name)).toEqual(['web', 'a:5000/acme/tools:1']);
    expect(groups.get('b')?.map((i) => i.name)).toEqual(['b:5000/acme/cache:1']);
    expect(groups.get('slow')?.map((i) => i.name)).toEqual(['db']);
  });
});
