// What a health check asks and what it saw. Plain JSON data: specs travel from the rollout
// workflow to the activity and outcomes travel back, through Temporal's payload converter. A
// spec never carries a credential: the activity takes those from the daemon's own config.

export interface HttpCheckSpec {
  name: string;
  url: string;
  expectStatus: number;
  /** A regular expression the first 64 KiB of the body must match. */
  bodyMatch?: string;
  timeoutMs: number;
}

export interface PrometheusCheckSpec {
  name: string;
  /** The Prometheus base URL, e.g. http://prometheus:9090; /api/v1/query is appended. */
  url: string;
  query: string;
  max?: number;
  min?: number;
}

/** Where in the config a check is defined, so the activity finds it (and its credentials) there. */
export interface CheckSource {
  pipeline: string;
  stage: string;
}

export type CheckSpec = (
  | { kind: 'http'; http: HttpCheckSpec }
  | { kind: 'prometheus'; prometheus: PrometheusCheckSpec }
) & {
  /** Absent in rollouts requested before checks carried it; the activity then matches the URL. */
  source?: CheckSource;
};

export interface CheckOutcome {
  name: string;
  kind: 'http' | 'prometheus';
  ok: boolean;
  /** The status code or the worst sample; non-finite samples are strings ('NaN', '+Inf') to survive JSON. */
  value?: number | string;
  /** The bound the value was held to, for people: `status 200`, `<= 0.01`. */
  threshold?: string;
  detail: string;
  /** When the answer was seen (ISO 8601). */
  at: string;
}
