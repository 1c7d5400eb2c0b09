// `auth: { type: ecr }`: credentials from ECR's GetAuthorizationToken, with the AWS SDK's own
// credential chain. The config holds no secret at all, only where the registry is.
import { z } from 'zod';
import { credentialsIn } from './url-credentials.ts';

const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, 'expected an AWS region such as us-east-1');

const accountId = z.string().regex(/^\d{12}$/, 'expected a 12-digit AWS account id, such as 123456789012');

const endpointUrl = z
  .url({
    protocol: /^https?$/,
    error: 'expected an http(s) URL of the ECR API, such as https://api.ecr.us-east-1.amazonaws.com',
  })
  .superRefine((url, ctx) => {
    // Runs even when the URL check failed; that failure is reported already.
    if (!URL.canParse(url)) return;
    // The endpoint is only where the SDK sends its signed calls: nothing secret belongs in it.
    if (credentialsIn(url))
      ctx.addIssue({
        code: 'custom',
        message:
          'the URL carries credentials; the AWS SDK signs its requests with credentials from its own chain, so drop them',
      });
    const { protocol, hostname } = new URL(url);
    if (protocol === 'http:' && !isLoopback(hostname))
      ctx.addIssue({
        code: 'custom',
        message:
          'the ECR API answers with a registry token, which plain http shows to anyone on the way; use https (http only for an emulator on this machine)',
      });
  });

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

export const ecrAuth = z.strictObject({
  type: z.literal('ecr'),
  region,
  registryId: accountId.optional(),
  /** The ECR API (not the registry): a VPC endpoint, or an emulator. Default: the SDK's, or AWS_ENDPOINT_URL_ECR. */
  endpoint: endpointUrl.optional(),
});

export type EcrAuth = z.infer<typeof ecrAuth>;

/** Account and region of an ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com` and kin). */
export function parseEcrHost(host: string): { accountId: string; region: string } | undefined {
  const match =
    /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(host) ??
    /^(\d{12})\.dkr-ecr(?:-fips)?\.([a-z0-9-]+)\.on\.aws$/.exec(host);
  return match?.[1] && match[2] ? { accountId: match[1], region: match[2] } : undefined;
}

/** The account whose registry a token is asked for: the configured one, else the one an ECR URL names. */
export function ecrRegistryId(auth: EcrAuth, url: string): string | undefined {
  if (auth.registryId) return auth.registryId;
  try {
    return parseEcrHost(new URL(url).hostname)?.accountId;
  } catch {
    return undefined;
  }
}

/**
 * A token is valid in its own region and names its registry: an ECR URL that says otherwise
 * than the auth would fail with a 401 at the first request, so say so at load time.
 */
export function checkEcrRegistry(
  registry: { url: string; auth: { type: string } },
  ctx: z.RefinementCtx,
): void {
  if (registry.auth.type !== 'ecr') return;
  const auth = registry.auth as EcrAuth;
  let host: string;
  try {
    host = new URL(registry.url).hostname;
  } catch {
    return;
  }
  const ecr = parseEcrHost(host);
  if (!ecr) return;
  if (ecr.region !== auth.region) {
    ctx.addIssue({
      code: 'custom',
      path: ['auth', 'region'],
      message: `the registry URL is ECR in ${ecr.region}, but region is ${auth.region}; an ECR token is valid only in its own region`,
    });
  }
  if (auth.registryId !== undefined && auth.registryId !== ecr.accountId) {
    ctx.addIssue({
      code: 'custom',
      path: ['auth', 'registryId'],
      message: `the registry URL is account ${ecr.accountId}'s registry, but registryId is ${auth.registryId}; drop registryId (the URL names the account) or make them match`,
    });
  }
}
