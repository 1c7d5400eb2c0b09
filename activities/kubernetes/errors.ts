// Kubernetes API failures as Temporal failures that say which cluster and call failed, and whether
// retrying can help: bad credentials or missing RBAC stay broken until a person fixes them.
import { STATUS_CODES } from 'node:http';
import { ApiException } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';

/** HTTP status of a failed API call (ApiException) or watch (`statusCode`), if the server answered. */
export function apiStatus(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

/** The apiserver's own explanation from a Status body, e.g. `deployments.apps "web" is forbidden: …`. */
function apiMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      return typeof parsed.message === 'string' ? parsed.message : undefined;
    } catch {
      return body.slice(0, 300) || undefined;
    }
  }
  return undefined;
}

// 422 is an invalid object; a concurrent change (also 422) is told apart before it gets here.
const nonRetryableStatus = new Set([400, 401, 403, 405, 415, 422]);

export function kubernetesFailure(cluster: string, action: string, err: unknown): ApplicationFailure {
  const status = apiStatus(err);
  const cause = err instanceof Error ? err : undefined;
  if (status === undefined) {
    const text = err instanceof Error ? err.message : String(err);
    return ApplicationFailure.create({
      message: `cluster ${cluster}: ${action}: ${text}`,
      type: 'KubernetesUnavailable',
      cause,
    });
  }
  const detail = apiMessage(err);
  const hint =
    status === 401 || status === 403 ? ' (check the credentials and RBAC of the cluster connection)' : '';
  return ApplicationFailure.create({
    message: `cluster ${cluster}: ${action}: ${status} ${STATUS_CODES[status] ?? 'error'}${hint}${detail ? `: ${detail}` : ''}`,
    type: 'KubernetesApiError',
    nonRetryable: nonRetryableStatus.has(status),
    details: [{ cluster, action, status }],
    cause,
  });
}

/** Type names stay `Deployment…` for every kind: workflows and histories match on them. */
export function deploymentNotFound(
  cluster: string,
  namespace: string,
  name: string,
  kind = 'Deployment',
): ApplicationFailure {
  return ApplicationFailure.create({
    message: `cluster ${cluster}: ${kind} ${namespace}/${name} not found`,
    type: 'DeploymentNotFound',
    nonRetryable: true,
    details: [{ cluster, namespace, deployment: name, ...(kind === 'Deployment' ? {} : { kind }) }],
  });
}

export function containerNotFound(
  cluster: string,
  namespace: string,
  name: string,
  container: string,
  containers: readonly string[],
): ApplicationFailure {
  return ApplicationFailure.create({
    message: `cluster ${cluster}: ${namespace}/${name}: no container "${container}" (containers: ${containers.join(', ')})`,
    type: 'ContainerNotFound',
    nonRetryable: true,
    details: [{ cluster, namespace, deployment: name, container }],
  });
}

/** Invariant 12: the daemon's config does not contain what the workflow asked for. */
export function notInConfig(refusal: string): ApplicationFailure {
  return ApplicationFailure.create({
    message: `refused: ${refusal}`,
    type: 'NotInConfig',
    nonRetryable: true,
  });
}
