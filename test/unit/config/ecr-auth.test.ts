// `auth: { type: ecr }`: what the config accepts for ECR, and the mistakes it refuses before a
// single AWS call: a region that is not one, a registry URL in another region or account.
import { describe, expect, it } from 'vitest';
import { ecrRegistryId, parseEcrHost } from '../../../config/ecr-auth.ts';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import type { Config } from '../../../config/schema.ts';
import { base } from '../../support/config-yaml.ts';

const withRegistry = (registry: string) =>
  base.replace('  - { name: local, url: "http://127.0.0.1:5000" }', `  - ${registry}`);

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

function parsed(yaml: string): Config {
  return parseConfig(yaml, 'test.yaml', { env: {} });
}

describe('ECR credentials in the config', () => {
  it('accepts region, registryId and endpoint on an ECR registry URL', () => {
    const config = parsed(
      withRegistry(
        `{ name: local, url: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", auth: { type: ecr, region: eu-west-1, registryId: "123456789012", endpoint: "https://vpce-0abc.api.ecr.eu-west-1.vpce.amazonaws.com" } }`,
      ),
    );
    expect(config.registries[0]?.auth).toEqual({
      type: 'ecr',
      region: 'eu-west-1',
      registryId: '123456789012',
      endpoint: 'https://vpce-0abc.api.ecr.eu-west-1.vpce.amazonaws.com',
    });
  });

  it('accepts only a region, and any URL that is not an ECR host (a pull-through proxy, a test registry)', () => {
    expect(
      problems(
        withRegistry('{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1 } }'),
      ),
    ).toEqual([]);
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "https://210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn", auth: { type: ecr, region: cn-north-1 } }',
        ),
      ),
    ).toEqual([]);
  });

  it('refuses a region that is not an AWS region name, and a registryId that is not an account id', () => {
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: "US East", registryId: "12345" } }',
        ),
      ),
    ).toEqual([
      'registries[0].auth.region: expected an AWS region such as us-east-1',
      'registries[0].auth.registryId: expected a 12-digit AWS account id, such as 123456789012',
    ]);
  });

  it('refuses an ECR auth without a region, naming the key', () => {
    expect(
      problems(withRegistry('{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr } }')),
    ).toEqual(['registries[0].auth.region: required (expected a string)']);
  });

  it('refuses a region other than the one in the ECR registry URL', () => {
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com", auth: { type: ecr, region: us-east-1 } }',
        ),
      ),
    ).toEqual([
      'registries[0].auth.region: the registry URL is ECR in eu-west-1, but region is us-east-1; an ECR token is valid only in its own region',
    ]);
  });

  it('refuses a registryId other than the account in the ECR registry URL', () => {
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com", auth: { type: ecr, region: us-east-1, registryId: "210987654321" } }',
        ),
      ),
    ).toEqual([
      "registries[0].auth.registryId: the registry URL is account 123456789012's registry, but registryId is 210987654321; drop registryId (the URL names the account) or make them match",
    ]);
  });

  it('refuses an endpoint that is not an http(s) URL or carries credentials', () => {
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1, endpoint: "ftp://ecr.local" } }',
        ),
      ),
    ).toEqual([
      'registries[0].auth.endpoint: expected an http(s) URL of the ECR API, such as https://api.ecr.us-east-1.amazonaws.com',
    ]);
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1, endpoint: "not a url" } }',
        ),
      ),
    ).toEqual([
      'registries[0].auth.endpoint: expected an http(s) URL of the ECR API, such as https://api.ecr.us-east-1.amazonaws.com',
    ]);
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1, endpoint: "https://k:s@ecr.local" } }',
        ),
      )[0],
    ).toMatch(/^registries\[0\]\.auth\.endpoint: the URL carries credentials/);
  });

  it('refuses a plain-http endpoint anywhere but on this machine, since the answer is a token', () => {
    const withEndpoint = (endpoint: string) =>
      withRegistry(
        `{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1, endpoint: "${endpoint}" } }`,
      );
    expect(problems(withEndpoint('http://ecr-proxy.internal:8080'))).toEqual([
      'registries[0].auth.endpoint: the ECR API answers with a registry token, which plain http shows to anyone on the way; use https (http only for an emulator on this machine)',
    ]);
    expect(problems(withEndpoint('http://127.0.0.1:5100'))).toEqual([]);
    expect(problems(withEndpoint('http://localhost:5100'))).toEqual([]);
  });

  it('refuses keys that belong to other auth types', () => {
    expect(
      problems(
        withRegistry(
          '{ name: local, url: "http://127.0.0.1:5000", auth: { type: ecr, region: us-east-1, passwordEnv: AWS_SECRET } }',
        ),
      ),
    ).toEqual([
      'registries[0].auth: unknown key "passwordEnv" (check the spelling; see config/freshet.schema.json)',
    ]);
  });
});

describe('ECR registry hosts', () => {
  it('reads account and region from every form of ECR host, and nothing from other hosts', () => {
    expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({
      accountId: '123456789012',
      region: 'eu-west-1',
    });
    expect(parseEcrHost('123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com')?.region).toBe(
      'us-gov-west-1',
    );
    expect(parseEcrHost('210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn')?.accountId).toBe('210987654321');
    expect(parseEcrHost('123456789012.dkr-ecr.ap-southeast-2.on.aws')?.region).toBe('ap-southeast-2');
    expect(parseEcrHost('public.ecr.aws')).toBeUndefined();
    expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example')).toBeUndefined();
  });

  it('asks for the token of the account the URL names, unless registryId says otherwise', () => {
    const auth = { type: 'ecr' as const, region: 'eu-west-1' };
    expect(ecrRegistryId(auth, 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe('123456789012');
    expect(ecrRegistryId({ ...auth, registryId: '210987654321' }, 'http://127.0.0.1:5000')).toBe(
      '210987654321',
    );
    expect(ecrRegistryId(auth, 'http://127.0.0.1:5000')).toBeUndefined();
  });
});
