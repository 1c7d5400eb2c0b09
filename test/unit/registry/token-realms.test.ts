import { describe, expect, it } from 'vitest';
import { registryApiBase } from '../../../activities/registry/docker-hub.ts';
import { realmReceivesCredentials } from '../../../activities/registry/token-realms.ts';

const trusts = (realm: string, registry: string, allowed: string[] = []) =>
  realmReceivesCredentials(new URL(realm), new URL(registry), allowed);

describe('token realms that receive credentials', () => {
  it("trusts the registry's own host on any port", () => {
    expect(trusts('https://registry.example.com/token', 'https://registry.example.com')).toBe(true);
    expect(trusts('https://REGISTRY.example.com:8443/auth', 'https://registry.example.com')).toBe(true);
    expect(trusts('http://127.0.0.1:5500/token', 'http://127.0.0.1:5000')).toBe(true);
  });

  it('withholds them from any other host a challenge names', () => {
    expect(trusts('https://auth.example.com/token', 'https://registry.example.com')).toBe(false);
    expect(trusts('https://registry.example.com.evil.test/token', 'https://registry.example.com')).toBe(
      false,
    );
    expect(trusts('https://auth.docker.io/token', 'https://ghcr.io')).toBe(false);
  });

  it("trusts Docker Hub's token service for Docker Hub, whichever name it is configured by", () => {
    for (const url of ['https://docker.io', 'https://index.docker.io', 'https://registry-1.docker.io'])
      expect(trusts('https://auth.docker.io/token', url)).toBe(true);
  });

  it("trusts GitLab.com's token service for its registry, and nobody else's", () => {
    expect(trusts('https://gitlab.com/jwt/auth', 'https://registry.gitlab.com')).toBe(true);
    expect(trusts('https://gitlab.com/jwt/auth', 'https://registry.gitlab.example.com')).toBe(false);
  });

  it('trusts configured hosts: a name on any port, host:port on that port only', () => {
    const registry = 'https://registry.gitlab.example.com';
    expect(trusts('https://gitlab.example.com/jwt/auth', registry, ['gitlab.example.com'])).toBe(true);
    expect(trusts('https://gitlab.example.com:8443/jwt/auth', registry, ['gitlab.example.com'])).toBe(true);
    expect(trusts('https://gitlab.example.com/jwt/auth', registry, ['gitlab.example.com:443'])).toBe(true);
    expect(trusts('https://gitlab.example.com:8443/jwt/auth', registry, ['gitlab.example.com:443'])).toBe(
      false,
    );
    expect(trusts('http://[::1]:5001/token', registry, ['[::1]:5001'])).toBe(true);
    expect(trusts('http://[::1]:5002/token', registry, ['[::1]:5001'])).toBe(false);
    expect(trusts('http://[::1]:5002/token', registry, ['[::1]'])).toBe(true);
  });
});

describe('Docker Hub API endpoint', () => {
  it('talks to registry-1.docker.io for docker.io, index.docker.io and registry-1.docker.io', () => {
    for (const url of ['https://docker.io', 'https://index.docker.io/', 'https://registry-1.docker.io'])
      expect(registryApiBase(new URL(url)).href).toBe('https://registry-1.docker.io/');
    expect(registryApiBase(new URL('https://ghcr.io')).href).toBe('https://ghcr.io/');
  });
});
