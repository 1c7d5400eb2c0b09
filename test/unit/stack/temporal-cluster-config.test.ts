// The Temporal cluster's server config: PostgreSQL for history and visibility, every service on
// 127.0.0.1 at the stack's ports, a dynamic config that keeps the server offline and quick to see
// new namespaces and search attributes.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { temporalDynamicConfig, temporalServerConfig } from '../../../stack/configs.ts';
import { ports, readVersions } from '../../../stack/layout.ts';
import { clusterServerPorts } from '../../../stack/temporal-cluster.ts';

const postgres = { host: '127.0.0.1', port: 5432, user: 'temporal', password: 'pw-123' };

describe('Temporal cluster config', () => {
  const p = clusterServerPorts(ports(), {
    frontendMembership: 21001,
    historyMembership: 21002,
    matchingMembership: 21003,
    workerMembership: 21004,
  });
  const config = parse(
    temporalServerConfig({
      ports: p,
      postgres,
      databases: { history: 'temporal', visibility: 'temporal_visibility' },
      dynamicConfigFile: '/run/dc.yaml',
    }),
  );

  it('keeps history and visibility in PostgreSQL (postgres12, as docker-compose.yml)', () => {
    expect(config.persistence.defaultStore).toBe('postgres-default');
    expect(config.persistence.visibilityStore).toBe('postgres-visibility');
    const stores = config.persistence.datastores;
    expect(stores['postgres-default'].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal',
      connectAddr: '127.0.0.1:5432',
      user: 'temporal',
      password: 'pw-123',
    });
    expect(stores['postgres-visibility'].sql).toMatchObject({
      pluginName: 'postgres12',
      databaseName: 'temporal_visibility',
    });
  });

  it('runs every service on 127.0.0.1 at ports of their own, away from the dev server', () => {
    const services = config.services as Record<string, { rpc: Record<string, unknown> }>;
    expect(Object.keys(services).sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
    for (const s of Object.values(services)) expect(s.rpc.bindOnIP).toBe('127.0.0.1');
    expect(services.frontend?.rpc).toMatchObject({ grpcPort: p.frontend, httpPort: p.frontendHttp });
    const used = Object.values(services).flatMap((s) => [s.rpc.grpcPort, s.rpc.membershipPort]);
    expect(new Set(used).size).toBe(8);
    expect(used).not.toContain(ports().temporal);
    // PostgreSQL keeps membership ports as SMALLINT.
    for (const s of Object.values(services)) expect(s.rpc.membershipPort).toBeLessThan(32768);
    expect(config.clusterMetadata.clusterInformation.active.rpcAddress).toBe(`127.0.0.1:${p.frontend}`);
    expect(config.global.metrics.prometheus.listenAddress).toBe(`127.0.0.1:${p.metrics}`);
    expect(config.dynamicConfigClient.filepath).toBe('/run/dc.yaml');
  });

  it('turns the version check off and makes new namespaces and search attributes visible at once', () => {
    const dc = parse(temporalDynamicConfig()) as Record<string, { value: unknown }[]>;
    expect(dc['frontend.enableServerVersionCheck']?.[0]?.value).toBe(false);
    expect(dc['system.forceSearchAttributesCacheRefreshOnRead']?.[0]?.value).toBe(true);
    expect(dc['system.namespaceCacheRefreshInterval']?.[0]?.value).toBe('1s');
  });

  it('pins the server at the version the CLI embeds, so their builds share the Go cache', () => {
    const v = readVersions();
    expect(v.temporalCli).toBe('1.5.1');
    expect(v.temporalServer).toBe('1.29.1');
  });
});
