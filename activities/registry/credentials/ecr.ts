// Amazon ECR's registry credentials: GetAuthorizationToken through the AWS SDK, with the SDK's
// default credential chain (environment, AWS_PROFILE, web identity for IRSA, EKS Pod Identity,
// instance profile), so Freshet holds no AWS secret of its own. The token lasts 12 hours; it is
// cached, renewed before it expires and once after a 401. Neither it nor the AWS credentials
// ever reach a message: errors carry the SDK's error name and AWS's text, not the answer.
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { z } from 'zod';
import type { CredentialSource, StaticAuth } from '../auth.ts';
import { type Expiring, RefreshingCredential } from './refreshing-credential.ts';

export interface EcrSourceOptions {
  region: string;
  /** The account whose registry the token is for; the SDK's default is the caller's own. */
  registryId?: string | undefined;
  /** The ECR API endpoint (a VPC endpoint, an emulator); else the SDK's, which honours AWS_ENDPOINT_URL_ECR. */
  endpoint?: string | undefined;
  /** Connection and answer timeout of each call, as for the registry's own requests. */
  timeoutMs: number;
  /** Epoch ms; injected so tests can move time past the token's refresh point. */
  now?: () => number;
}

/** ECR documents 12 hours; assumed when the answer's expiry is missing or already past by our clock. */
const ecrTokenLifetimeMs = 12 * 3_600_000;
const maxDetailLength = 300;

/** How errors name the source: where the token comes from, never what it is. */
export function ecrSourceName(opts: Pick<EcrSourceOptions, 'region' | 'registryId' | 'endpoint'>): string {
  const parts = [`region ${opts.region}`];
  if (opts.registryId) parts.push(`registry ${opts.registryId}`);
  if (opts.endpoint) parts.push(`endpoint ${opts.endpoint}`);
  return `ECR (${parts.join(', ')})`;
}

const tokenAnswer = z.object({
  authorizationData: z
    .array(z.object({ authorizationToken: z.string().min(1), expiresAt: z.date().optional() }))
    .min(1),
});

/** The Basic credentials in a GetAuthorizationToken answer: the token is base64 of `AWS:<password>`. */
export function ecrCredentialsFrom(answer: unknown): Expiring<StaticAuth> {
  const parsed = tokenAnswer.safeParse(answer);
  if (!parsed.success) throw new Error('GetAuthorizationToken answered without authorizationData');
  const [data] = parsed.data.authorizationData;
  const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) {
    throw new Error('GetAuthorizationToken answered a token that is not base64 of user:password');
  }
  return {
    value: { type: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
    expiresAt: data?.expiresAt?.getTime() ?? 0,
  };
}

/** What an error from the SDK means to the person who runs Freshet, on one bounded line. */
export function describeEcrFailure(err: unknown, timeoutMs: number): string {
  if (!(err instanceof Error)) return oneLine(String(err));
  const code = (err as { code?: unknown }).code;
  if (err.name === 'TimeoutError') return `the ECR API did not answer within ${timeoutMs} ms`;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) {
    return oneLine(`cannot reach the ECR API (${code}): ${err.message}`);
  }
  if (typeof code === 'string' && code.startsWith('HPE_')) {
    return oneLine(`the ECR API endpoint did not answer HTTP (${code}): ${err.message}`);
  }
  const hint = hints[err.name];
  return oneLine(`${err.name}: ${err.message}${hint ? ` (${hint})` : ''}`);
}

const hints: Record<string, string> = {
  CredentialsProviderError:
    'the AWS SDK found no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (IRSA), EKS Pod Identity or an instance profile',
  AccessDeniedException: 'the AWS identity needs ecr:GetAuthorizationToken',
  UnrecognizedClientException: 'AWS does not know this access key',
  InvalidSignatureException: 'check the secret access key',
  ExpiredTokenException: 'the AWS session credentials have expired',
};

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > maxDetailLength ? `${flat.slice(0, maxDetailLength - 1)}…` : flat;
}

export function ecrCredentialSource(opts: EcrSourceOptions): CredentialSource {
  const client = new ECRClient({
    region: opts.region,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // The SDK waits forever by default; a check must end in a per-image error instead.
    requestHandler: {
      connectionTimeout: opts.timeoutMs,
      requestTimeout: opts.timeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  const fetchToken = async (): Promise<Expiring<StaticAuth>> => {
    let answer: unknown;
    try {
      answer = await client.send(
        new GetAuthorizationTokenCommand(opts.registryId ? { registryIds: [opts.registryId] } : {}),
      );
    } catch (err) {
      throw new Error(`GetAuthorizationToken failed: ${describeEcrFailure(err, opts.timeoutMs)}`);
    }
    return ecrCredentialsFrom(answer);
  };
  const credential = new RefreshingCredential(fetchToken, {
    assumedLifetimeMs: ecrTokenLifetimeMs,
    ...(opts.now ? { now: opts.now } : {}),
  });
  return {
    describe: ecrSourceName(opts),
    get: () => credential.get(),
    invalidate: (auth) => credential.invalidate(auth),
  };
}
