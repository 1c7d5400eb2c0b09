// The Kubernetes manifests in deploy/kubernetes: the daemon's security posture (uid 1000, non-root,
// read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp, resources and
// probes), least-privilege RBAC (Roles only, in the target namespaces, no Secrets, no wildcards,
// only the verbs Freshet uses), and a ConfigMap whose freshet.yaml Freshet itself accepts.
// test/e2e/rbac.test.ts proves the same RBAC is enough on a real API server.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  V1ConfigMap,
  V1Container,
  V1Deployment,
  V1Namespace,
  V1Probe,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { parseConfig } from '../../../config/load.ts';

const dir = fileURLToPath(new URL('../../../deploy/kubernetes/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
  .sort();

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const objects: (Obj & { file: string })[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).flatMap((doc) => {
    expect(doc.errors, file).toEqual([]);
    const obj = doc.toJS() as Obj | null;
    return obj ? [{ ...obj, file }] : [];
  }),
);
const ofKind = <T>(kind: string) => objects.filter((o) => o.kind === kind) as unknown as T[];
const one = <T>(kind: string): T => {
  const found = ofKind<T>(kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
};

const deployment = one<V1Deployment>('Deployment');
const pod = deployment.spec?.template.spec;
const containers: V1Container[] = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])];
const configMap = one<V1ConfigMap>('ConfigMap');
const config = parseConfig(configMap.data?.['freshet.yaml'] ?? '', 'configmap.yaml freshet.yaml');

/** The port number a probe or Service names, resolving a named container port. */
function portNumber(port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  for (const c of containers) for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

function probe(p: V1Probe | undefined) {
  return { path: p?.httpGet?.path, port: portNumber(p?.httpGet?.port as number | string | undefined) };
}

describe('deploy/kubernetes', () => {
  it('parses, every object has apiVersion, kind and name, and kustomization.yaml lists every file', () => {
    expect(objects.length).toBeGreaterThanOrEqual(8);
    for (const o of objects) {
      expect(o.apiVersion, o.file).toBeTruthy();
      expect(o.kind, o.file).toBeTruthy();
      expect(o.metadata?.name, `${o.file} ${o.kind}`).toBeTruthy();
    }
    const kustomization = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    expect([...kustomization.resources].sort()).toEqual(files);
    // No Secret objects: the user creates the Secret, the manifests never carry one.
    expect(ofKind('Secret')).toEqual([]);
  });

  it('puts Freshet in namespace freshet, which enforces the restricted Pod Security profile', () => {
    const ns = one<V1Namespace>('Namespace');
    expect(ns.metadata?.name).toBe('freshet');
    expect(ns.metadata?.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    for (const kind of ['Deployment', 'ServiceAccount', 'ConfigMap', 'Service']) {
      for (const o of ofKind<Obj>(kind)) expect(o.metadata?.namespace, kind).toBe('freshet');
    }
  });

  describe('the Deployment', () => {
    it('runs as uid 1000, non-root, with RuntimeDefault seccomp, and no host access', () => {
      const sc = pod?.securityContext;
      expect(sc?.runAsNonRoot).toBe(true);
      expect(sc?.runAsUser).toBe(1000);
      expect(sc?.runAsGroup).toBe(1000);
      expect(sc?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(pod?.hostNetwork ?? false).toBe(false);
      expect(pod?.hostPID ?? false).toBe(false);
      expect(pod?.hostIPC ?? false).toBe(false);
      expect((pod?.volumes ?? []).filter((v) => v.hostPath)).toEqual([]);
    });

    it('locks every container down: read-only root, no privilege escalation, drop ALL, no adds', () => {
      expect(containers.length).toBeGreaterThan(0);
      for (const c of containers) {
        const sc = c.securityContext;
        expect(sc?.readOnlyRootFilesystem, c.name).toBe(true);
        expect(sc?.allowPrivilegeEscalation, c.name).toBe(false);
        expect(sc?.privileged ?? false, c.name).toBe(false);
        expect(sc?.capabilities?.drop, c.name).toContain('ALL');
        expect(sc?.capabilities?.add ?? [], c.name).toEqual([]);
        expect(sc?.runAsNonRoot ?? pod?.securityContext?.runAsNonRoot, c.name).toBe(true);
        expect(sc?.runAsUser ?? pod?.securityContext?.runAsUser, c.name).toBe(1000);
        expect(sc?.seccompProfile?.type ?? pod?.securityContext?.seccompProfile?.type, c.name).toBe(
          'RuntimeDefault',
        );
      }
    });

    it('gives the read-only container a writable /tmp (swc copies its native library there)', () => {
      const [c] = pod?.containers ?? [];
      const mount = c?.volumeMounts?.find((m) => m.mountPath === '/tmp');
      expect(mount?.readOnly ?? false).toBe(false);
      expect(pod?.volumes?.find((v) => v.name === mount?.name)?.emptyDir).toBeDefined();
    });

    it('sets CPU and memory requests and limits', () => {
      for (const c of containers) {
        for (const kind of ['requests', 'limits'] as const) {
          expect(c.resources?.[kind]?.cpu, `${c.name} ${kind}.cpu`).toBeTruthy();
          expect(c.resources?.[kind]?.memory, `${c.name} ${kind}.memory`).toBeTruthy();
        }
      }
    });

    it('probes /healthz (liveness) and /readyz (readiness) on 9464, and serves 9464', () => {
      const [c] = pod?.containers ?? [];
      expect(probe(c?.livenessProbe)).toEqual({ path: '/healthz', port: 9464 });
      expect(probe(c?.readinessProbe)).toEqual({ path: '/readyz', port: 9464 });
      if (c?.startupProbe) expect(probe(c.startupProbe)).toEqual({ path: '/healthz', port: 9464 });
      expect(c?.ports?.map((p) => p.containerPort)).toContain(9464);
    });

    it('starts `freshet start` with the mounted config, as the freshet ServiceAccount with its token', () => {
      const [c] = pod?.containers ?? [];
      expect(c?.args).toEqual(['start', '--config', '/etc/freshet/freshet.yaml']);
      expect(c?.volumeMounts).toContainEqual(
        expect.objectContaining({ mountPath: '/etc/freshet', readOnly: true }),
      );
      const configVolume = pod?.volumes?.find(
        (v) => v.name === c?.volumeMounts?.find((m) => m.mountPath === '/etc/freshet')?.name,
      );
      expect(configVolume?.configMap?.name).toBe(configMap.metadata?.name);
      expect(pod?.serviceAccountName).toBe(one<V1ServiceAccount>('ServiceAccount').metadata?.name);
      expect(pod?.automountServiceAccountToken).toBe(true);
    });

    it('gets every secret the config names from a Secret, never from a literal', () => {
      const env = new Map((pod?.containers[0]?.env ?? []).map((e) => [e.name, e]));
      const named: string[] = [];
      const collect = (o: object | undefined) => {
        for (const [key, value] of Object.entries(o ?? {})) {
          if (key.endsWith('Env') && typeof value === 'string') named.push(value);
        }
      };
      for (const r of config.registries) {
        collect(r.auth);
        collect(r.webhook);
      }
      collect(config.temporal);
      expect(named.length).toBeGreaterThan(0);
      for (const name of named) {
        expect(env.get(name)?.valueFrom?.secretKeyRef?.name, `env ${name}`).toBeTruthy();
        expect(env.get(name)?.value, `env ${name}`).toBeUndefined();
      }
      for (const e of env.values()) {
        if (/TOKEN|PASSWORD|SECRET|KEY/i.test(e.name)) expect(e.value, e.name).toBeUndefined();
      }
    });

    it('pins a versioned image, never :latest', () => {
      for (const c of containers)
        expect(c.image, c.name).toMatch(/^[^:@]+(:[\w.-]+)?(@sha256:[a-f0-9]{64})?$/);
      for (const c of containers) expect(c.image, c.name).not.toMatch(/:latest$|^[^:]+$/);
    });
  });

  it('exposes 9464 through the Service, selecting the Deployment pods', () => {
    const svc = one<V1Service>('Service');
    expect(svc.spec?.ports?.map((p) => [p.port, portNumber(p.targetPort as number | string)])).toEqual([
      [9464, 9464],
    ]);
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const [k, v] of Object.entries(svc.spec?.selector ?? {})) expect(labels[k], k).toBe(v);
  });

  describe('RBAC', () => {
    const roles = ofKind<V1Role>('Role');
    const bindings = ofKind<V1RoleBinding>('RoleBinding');
    const allowed: Record<string, string[]> = {
      'apps/deployments': ['get', 'list', 'watch', 'patch'],
      'apps/statefulsets': ['get', 'list', 'watch', 'patch'],
      'apps/daemonsets': ['get', 'list', 'watch', 'patch'],
      'batch/cronjobs': ['get', 'list', 'watch', 'patch'],
      'apps/replicasets': ['get', 'list'],
      'batch/jobs': ['list'],
      // delete: a StatefulSet rollback releases the pod stuck on the broken build.
      '/pods': ['get', 'list', 'watch', 'delete'],
      // Kubernetes Events on what Freshet changes: create only, never read or delete.
      'events.k8s.io/events': ['create'],
    };

    it('has no ClusterRole or ClusterRoleBinding', () => {
      expect(ofKind('ClusterRole')).toEqual([]);
      expect(ofKind('ClusterRoleBinding')).toEqual([]);
    });

    it('grants no wildcard, no Secrets, and only the verbs Freshet uses on the resources it reads or records', () => {
      expect(roles.length).toBeGreaterThan(0);
      const text = files
        .filter((f) => ofKind<Obj & { file: string }>('Role').some((r) => r.file === f))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n');
      expect(text).not.toMatch(/^\s*-?\s*(resources|verbs):.*\bsecrets\b/m);
      for (const role of roles) {
        const where = `Role ${role.metadata?.namespace}/${role.metadata?.name}`;
        for (const rule of role.rules ?? []) {
          const groups = rule.apiGroups ?? [];
          const resources = rule.resources ?? [];
          expect([...groups, ...resources, ...rule.verbs], where).not.toContain('*');
          expect(resources, where).not.toContain('secrets');
          expect(rule.resourceNames ?? [], where).toEqual([]);
          expect(rule.nonResourceURLs ?? [], where).toEqual([]);
          for (const group of groups) {
            for (const resource of resources) {
              const key = `${group}/${resource}`;
              expect(Object.keys(allowed), `${where}: ${key}`).toContain(key);
              for (const verb of rule.verbs) expect(allowed[key], `${where}: ${verb} ${key}`).toContain(verb);
            }
          }
        }
      }
    });

    it('has a Role and a RoleBinding to the freshet ServiceAccount in each target namespace', () => {
      const sa = one<V1ServiceAccount>('ServiceAccount');
      const roleNamespaces = roles.map((r) => r.metadata?.namespace).sort();
      expect(roleNamespaces).toEqual(['production', 'staging']);
      for (const role of roles) {
        const ns = role.metadata?.namespace;
        const bound = bindings.filter((b) => b.metadata?.namespace === ns);
        expect(bound, `RoleBinding in ${ns}`).toHaveLength(1);
        expect(bound[0]?.roleRef).toEqual({
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'Role',
          name: role.metadata?.name,
        });
        expect(bound[0]?.subjects).toEqual([
          { kind: 'ServiceAccount', name: sa.metadata?.name, namespace: sa.metadata?.namespace },
        ]);
      }
      expect(bindings).toHaveLength(roles.length);
      // Every namespace the example config targets has its Role; nothing else is granted.
      const targeted = new Set(
        Object.values(config.pipelines).flatMap((p) =>
          p.stages.flatMap((s) => s.targets.map((t) => t.namespace)),
        ),
      );
      expect([...targeted].sort()).toEqual(roleNamespaces);
    });
  });

  it("holds a freshet.yaml that Freshet's config loader accepts, with in-cluster credentials", () => {
    expect(Object.keys(config.clusters).length).toBeGreaterThan(0);
    for (const [name, cluster] of Object.entries(config.clusters)) {
      expect(cluster.inCluster, name).toBe(true);
      expect(cluster.kubeconfig, name).toBeUndefined();
    }
    expect(config.metrics.listen).toBe('0.0.0.0:9464');
  });
});
