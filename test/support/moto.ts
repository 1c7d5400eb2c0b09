// moto, the AWS API emulator the stack runs, as ECR tests use it: where it listens, the
// credentials it accepts (any), and the token it hands out for a registry, read through the
// same AWS SDK Freshet uses, so a test registry can be made to accept exactly that token.
import { randomInt } from 'node:crypto';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { Endpoints } from '../../stack/layout.ts';

/** moto takes any key pair; these are what the AWS SDK's environment provider reads. */
export const motoCredentialsEnv = {
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
} as const;

/** The stack's moto, or one named by FRESHET_TEST_MOTO_URL; a clear failure when there is neither. */
export function motoUrl(stack: Endpoints): string {
  const fromStack = (stack as Endpoints & { moto?: { url: string } }).moto?.url;
  const url = fromStack ?? process.env.FRESHET_TEST_MOTO_URL;
  if (!url) {
    throw new Error(
      'no moto to test ECR against: the stack state has no moto.url (restart the stack with `npm run stack:up` after stack/install.sh installed moto) and FRESHET_TEST_MOTO_URL is not set',
    );
  }
  return url;
}

/** A fresh 12-digit account id, so tests running side by side get registries (and tokens) of their own. */
export function testAccountId(): string {
  return String(randomInt(100_000_000_000, 999_999_999_999));
}

export interface MotoToken {
  username: string;
  password: string;
  /** As moto states it; moto answers a fixed date in the past. */
  expiresAt: Date;
}

/** What GetAuthorizationToken answers for `registryId`, decoded; asked directly, not through Freshet. */
export async function motoEcrToken(url: string, region: string, registryId: string): Promise<MotoToken> {
  const client = new ECRClient({
    region,
    endpoint: url,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  try {
    const answer = await client.send(new GetAuthorizationTokenCommand({ registryIds: [registryId] }));
    const data = answer.authorizationData?.[0];
    if (!data?.authorizationToken || !data.expiresAt) throw new Error('moto answered no token');
    const decoded = Buffer.from(data.authorizationToken, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      expiresAt: data.expiresAt,
    };
  } finally {
    client.destroy();
  }
}
