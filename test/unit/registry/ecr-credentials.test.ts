// What Freshet makes of GetAuthorizationToken's answer and of the AWS SDK's errors: the Basic
// credentials inside the token, and one line a person can act on, never holding the token.
import { ECRServiceException } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import {
  describeEcrFailure,
  ecrCredentialsFrom,
  ecrSourceName,
} from '../../../activities/registry/credentials/ecr.ts';

const token = (text: string) => Buffer.from(text).toString('base64');
const now = Date.UTC(2026, 0, 1);

describe('ECR tokens', () => {
  it('are base64 of AWS:<password>, used as Basic credentials until expiresAt', () => {
    const expiresAt = new Date(now + 12 * 3_600_000);
    expect(
      ecrCredentialsFrom({
        authorizationData: [{ authorizationToken: token('AWS:eyJwYXlsb2FkIjoi:x'), expiresAt }],
      }),
    ).toEqual({
      value: { type: 'basic', username: 'AWS', password: 'eyJwYXlsb2FkIjoi:x' },
      expiresAt: expiresAt.getTime(),
    });
  });

  it('without expiresAt, expire at once: the assumed lifetime applies', () => {
    expect(ecrCredentialsFrom({ authorizationData: [{ authorizationToken: token('AWS:pw') }] })).toEqual({
      value: { type: 'basic', username: 'AWS', password: 'pw' },
      expiresAt: 0,
    });
  });

  it('refuse an answer without a token, or a token that is not user:password, without quoting it', () => {
    expect(() => ecrCredentialsFrom({ authorizationData: [] })).toThrow(
      'GetAuthorizationToken answered without authorizationData',
    );
    expect(() => ecrCredentialsFrom({})).toThrow('GetAuthorizationToken answered without authorizationData');
    const secret = 'no-colon-in-this-secret';
    let message = '';
    try {
      ecrCredentialsFrom({ authorizationData: [{ authorizationToken: token(secret) }] });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toBe('GetAuthorizationToken answered a token that is not base64 of user:password');
    expect(message).not.toContain(secret);
    expect(message).not.toContain(token(secret));
  });
});

describe('describeEcrFailure', () => {
  it('names the missing credentials and where the SDK looks for them', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(describeEcrFailure(err, 10_000)).toBe(
      'CredentialsProviderError: Could not load credentials from any providers (the AWS SDK found no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a web identity token (IRSA), EKS Pod Identity or an instance profile)',
    );
  });

  it("gives AccessDenied with AWS's message and the permission it needs", () => {
    const err = new ECRServiceException({
      name: 'AccessDeniedException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
      message:
        'User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: *',
    });
    expect(describeEcrFailure(err, 10_000)).toBe(
      'AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: ecr:GetAuthorizationToken on resource: * (the AWS identity needs ecr:GetAuthorizationToken)',
    );
  });

  it('says the ECR API could not be reached, with the network code', () => {
    const err = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5199'), { code: 'ECONNREFUSED' });
    expect(describeEcrFailure(err, 10_000)).toBe(
      'cannot reach the ECR API (ECONNREFUSED): connect ECONNREFUSED 127.0.0.1:5199',
    );
  });

  it('says the endpoint does not speak HTTP, as when it points at the wrong port', () => {
    const err = Object.assign(new Error('Parse Error: Expected HTTP/, RTSP/ or ICE/'), {
      code: 'HPE_INVALID_CONSTANT',
    });
    expect(describeEcrFailure(err, 10_000)).toBe(
      'the ECR API endpoint did not answer HTTP (HPE_INVALID_CONSTANT): Parse Error: Expected HTTP/, RTSP/ or ICE/',
    );
  });

  it('says how long it waited on a timeout', () => {
    const err = Object.assign(new Error('request timed out'), { name: 'TimeoutError' });
    expect(describeEcrFailure(err, 2_500)).toBe('the ECR API did not answer within 2500 ms');
  });

  it('keeps a long message to one bounded line', () => {
    const err = new Error(`first line\n${'x'.repeat(1_000)}`);
    const text = describeEcrFailure(err, 10_000);
    expect(text).not.toContain('\n');
    expect(text.length).toBeLessThanOrEqual(320);
    expect(text.startsWith('Error: first line x')).toBe(true);
  });
});

describe('ecrSourceName', () => {
  it('names region, registry and a configured endpoint, which errors quote', () => {
    expect(ecrSourceName({ region: 'us-east-1' })).toBe('ECR (region us-east-1)');
    expect(
      ecrSourceName({ region: 'eu-west-1', registryId: '123456789012', endpoint: 'https://vpce.example' }),
    ).toBe('ECR (region eu-west-1, registry 123456789012, endpoint https://vpce.example)');
  });
});
