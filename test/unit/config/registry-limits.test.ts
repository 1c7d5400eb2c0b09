// The registry keys that decide where credentials may go and how long a rate limit is waited out.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../config/load.ts';
import { base } from '../../support/config-yaml.ts';

const withRegistry = (extra: string) =>
  base.replace('url: "http://127.0.0.1:5000" }', `url: "http://127.0.0.1:5000", ${extra} }`);

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('config: registries[].tokenRealms and maxRetryAfter', () => {
  it('defaults to no extra realm host and a 30 s Retry-After ceiling', () => {
    const [registry] = parseConfig(base, 't', { env: {} }).registries;
    expect(registry).toMatchObject({ tokenRealms: [], maxRetryAfter: 30_000 });
  });

  it('takes host names and host:port entries', () => {
    const yaml = withRegistry(
      'tokenRealms: [gitlab.example.com, "auth.example.com:8443", "[::1]:5001"], maxRetryAfter: 0s',
    );
    const [registry] = parseConfig(yaml, 't', { env: {} }).registries;
    expect(registry).toMatchObject({
      tokenRealms: ['gitlab.example.com', 'auth.example.com:8443', '[::1]:5001'],
      maxRetryAfter: 0,
    });
  });

  it('refuses a URL or a path where a host belongs, naming the entry', () => {
    expect(problems(withRegistry('tokenRealms: ["https://auth.example.com/token", "a b"]'))).toEqual([
      'registries[0].tokenRealms[0]: expected a host name such as auth.example.com, optionally with :port (not a URL)',
      'registries[0].tokenRealms[1]: expected a host name such as auth.example.com, optionally with :port (not a URL)',
    ]);
  });

  it('refuses a Retry-After ceiling past what one watch cycle can wait', () => {
    expect(problems(withRegistry('maxRetryAfter: 5m'))).toEqual([
      'registries[0].maxRetryAfter: must be at most 1m: one watch cycle checks all its images within 2 minutes',
    ]);
  });
});
