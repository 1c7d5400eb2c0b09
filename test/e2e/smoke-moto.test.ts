// The stack's AWS API is moto's real server: the AWS SDK reaches it through its own `endpoint`
// setting, as a user reaches a VPC endpoint, and ECR hands out a Docker login token.
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { describe, expect, inject, it } from 'vitest';

const stack = inject('stack');

describe('moto stack', () => {
  it('answers ECR GetAuthorizationToken with a base64 "AWS:<password>" token', async () => {
    const ecr = new ECRClient({
      endpoint: stack.moto.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    try {
      const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
      expect(authorizationData).toHaveLength(1);
      const [data] = authorizationData ?? [];
      const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
      const [user, password] = decoded.split(':');
      expect(user).toBe('AWS');
      expect(password?.length).toBeGreaterThan(0);
      expect(data?.proxyEndpoint).toMatch(/^https:\/\/\d{12}\.dkr\.ecr\.us-east-1\.amazonaws\.com$/);
      expect(data?.expiresAt).toBeInstanceOf(Date);
    } finally {
      ecr.destroy();
    }
  });
});
