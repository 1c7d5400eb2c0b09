// docker-compose.yml, checked without a Docker engine: it parses, images are pinned, every host
// port is unique and documented in the header comment, every relative bind-mount source exists,
// depends_on names real services, the files it mounts agree with each other (webhook token, scrape
// target, rule file, dashboard folder), and Freshet's own loader accepts deploy/compose/freshet.yaml.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigFile } from '../../../config/load.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const text = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  ports?: (string | number | { published?: string | number; target?: number; host_ip?: string })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  environment?: string[] | Record<string, string | number | boolean | null>;
  command?: string | string[];
}
const compose = parse(text) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const names = Object.keys(services);

/** The host port of a ports entry, or undefined when none is published. */
function hostPort(entry: NonNullable<Service['ports']>[number]): number | undefined {
  if (typeof entry === 'object') return entry.published === undefined ? undefined : Number(entry.published);
  const parts = String(entry)
    .replace(/\/(tcp|udp)$/, '')
    .split(':');
  // "8080" publishes a random host port; "host:container" and "ip:host:container" name it.
  return parts.length >= 2 ? Number(parts.at(-2)) : undefined;
}

/** [source, target] of bind mounts (named volumes excluded). */
function binds(s: Service): [string, string][] {
  return (s.volumes ?? []).flatMap((v): [string, string][] => {
    if (typeof v === 'object') return v.type === 'bind' && v.source ? [[v.source, v.target ?? '']] : [];
    const [source = '', target = ''] = v.split(':');
    return /^[./~$]/.test(source) ? [[source, target]] : [];
  });
}

function env(s: Service): Record<string, string> {
  if (Array.isArray(s.environment)) {
    return Object.fromEntries(
      s.environment.map((e) => [e.split('=')[0] ?? '', e.split('=').slice(1).join('=')]),
    );
  }
  return Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

const header = text.slice(0, text.search(/^[^#\n]/m)).trim();
const mountOf = (service: string, target: string) =>
  binds(services[service] ?? {}).find(([, t]) => t === target)?.[0];
const readRepo = (rel: string) => readFileSync(join(repo, rel), 'utf8');

describe('docker-compose.yml', () => {
  it('has the expected services', () => {
    for (const s of [
      'postgresql',
      'temporal',
      'temporal-ui',
      'registry',
      'prometheus',
      'grafana',
      'freshet',
    ]) {
      expect(names).toContain(s);
    }
  });

  it('pins every image to a version, never latest', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.build) continue;
      expect(s.image, name).toMatch(/^[\w./-]+:[\w.-]+(@sha256:[a-f0-9]{64})?$/);
      expect(s.image, name).not.toMatch(/:latest$|:\d+$/);
    }
    expect(services.freshet?.build).toBeTruthy();
  });

  it('publishes each host port once, documents it in the header, and binds it to 127.0.0.1', () => {
    const published: number[] = [];
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) {
        const port = hostPort(p);
        expect(port, `${name}: ${JSON.stringify(p)}`).toBeGreaterThan(0);
        published.push(port as number);
        expect(String(typeof p === 'object' ? p.host_ip : p), name).toMatch(/^127\.0\.0\.1/);
        expect(header, `port ${port} of ${name}`).toMatch(new RegExp(`^#\\s+${port}\\s.*\\b${name}\\b`, 'm'));
      }
    }
    expect(published.length).toBeGreaterThanOrEqual(6);
    expect(new Set(published).size).toBe(published.length);
  });

  it('runs freshet read-only with no capabilities, and a writable /tmp', () => {
    const freshet = services.freshet as Service & {
      read_only?: boolean;
      tmpfs?: string | string[];
      cap_drop?: string[];
      security_opt?: string[];
    };
    expect(freshet.read_only).toBe(true);
    expect([freshet.tmpfs ?? []].flat()).toContain('/tmp');
    expect(freshet.cap_drop).toEqual(['ALL']);
    expect(freshet.security_opt).toContain('no-new-privileges:true');
  });

  it('mounts only files that exist in the repo', () => {
    let count = 0;
    for (const [name, s] of Object.entries(services)) {
      for (const [source] of binds(s)) {
        if (!source.startsWith('.')) continue;
        count++;
        expect(existsSync(join(repo, source)), `${name}: ${source}`).toBe(true);
      }
      const context = typeof s.build === 'string' ? s.build : s.build?.context;
      if (context) expect(existsSync(join(repo, context, 'Dockerfile')), name).toBe(true);
    }
    expect(count).toBeGreaterThanOrEqual(8);
  });

  it('names only existing services in depends_on, and existing volumes', () => {
    for (const [name, s] of Object.entries(services)) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) {
        expect(names, `${name} depends on ${d}`).toContain(d);
        expect(d).not.toBe(name);
      }
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0] : v.type === 'volume' ? v.source : undefined;
        if (source && /^[\w-]+$/.test(source))
          expect(Object.keys(compose.volumes ?? {}), name).toContain(source);
      }
    }
  });

  it("passes Freshet's config loader with deploy/compose/freshet.yaml, and the mounts agree", () => {
    const configFile = mountOf('freshet', '/etc/freshet/freshet.yaml');
    expect(configFile).toBe('./deploy/compose/freshet.yaml');
    const config = loadConfigFile(join(repo, configFile as string), { env: {} });
    expect(config.temporal.address).toBe('temporal:7233');
    expect(config.metrics.listen).toMatch(/:9464$/);
    for (const [name, c] of Object.entries(config.clusters)) {
      expect(c.kubeconfig?.startsWith('/etc/freshet/kube/'), name).toBe(true);
    }
    expect(binds(services.freshet ?? {}).map(([, t]) => t)).toContain('/etc/freshet/kube');

    // The registry notifies freshet with the token freshet expects.
    const registryYml = parse(readRepo(mountOf('registry', '/etc/docker/registry/config.yml') ?? '')) as {
      notifications: { endpoints: { url: string; headers: { Authorization: string[] } }[] };
    };
    const [endpoint] = registryYml.notifications.endpoints;
    expect(endpoint?.url).toBe('http://freshet:9464/webhooks/distribution');
    const webhook = config.registries.find((r) => r.webhook?.source === 'distribution')?.webhook;
    expect(webhook?.tokenEnv).toBeTruthy();
    const token = env(services.freshet ?? {})[webhook?.tokenEnv ?? ''];
    expect(token).toBeTruthy();
    expect(endpoint?.headers.Authorization).toEqual([`Bearer ${token}`]);
    expect(config.registries.map((r) => r.url)).toContain('http://registry:5000');
  });

  it('lets Prometheus scrape freshet with the alert rules, and Grafana load the dashboard', () => {
    const prom = parse(readRepo(mountOf('prometheus', '/etc/prometheus/prometheus.yml') ?? '')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    for (const rule of prom.rule_files) {
      expect(mountOf('prometheus', rule), rule).toBe('./deploy/prometheus/freshet-rules.yml');
    }
    const targets = prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));
    expect(targets).toContain('freshet:9464');
    for (const t of targets) {
      const host = t.split(':')[0] ?? '';
      if (host !== 'localhost') expect(names, t).toContain(host);
    }

    const providers = parse(
      readRepo(mountOf('grafana', '/etc/grafana/provisioning/dashboards/freshet.yaml') ?? ''),
    ) as { providers: { options: { path: string } }[] };
    const folder = providers.providers[0]?.options.path;
    expect(mountOf('grafana', `${folder}/freshet.json`)).toBe('./deploy/grafana/freshet.json');
    const datasources = parse(
      readRepo(mountOf('grafana', '/etc/grafana/provisioning/datasources/freshet.yaml') ?? ''),
    ) as { datasources: { type: string; url: string; isDefault: boolean }[] };
    expect(datasources.datasources).toContainEqual(
      expect.objectContaining({ type: 'prometheus', url: 'http://prometheus:9090', isDefault: true }),
    );
  });
});
