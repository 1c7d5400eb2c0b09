import { describe, expect, it } from 'vitest';
import {
  credentialsFor,
  type DockerConfig,
  parseDockerConfig,
} from '../../../../activities/registry/credentials/docker-config-file.ts';
import { registryNameOf } from '../../../../activities/registry/credentials/hosts.ts';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const local = registryNameOf(new URL('http://127.0.0.1:5001'));
const hub = registryNameOf(new URL('https://registry-1.docker.io'));
const parse = (value: unknown) => parseDockerConfig(JSON.stringify(value));
const problemOf = (text: string) => {
  try {
    parseDockerConfig(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed');
};

describe('docker config files: parsing', () => {
  it('reads auths with base64 auth, username/password, identity and registry tokens, and ignores other keys', () => {
    const config = parse({
      auths: {
        '127.0.0.1:5001': { auth: b64('freshet:pa:ss\0'), email: 'x@example.com' },
        'ghcr.io': { username: 'bot', password: 'pat' },
        'https://index.docker.io/v1/': { identitytoken: 'refresh' },
        'quay.io': { registrytoken: 'bearer', auth: b64('a:b') },
      },
      psFormat: 'table',
      HttpHeaders: { 'User-Agent': 'x' },
    });
    expect(credentialsFor(config, local)).toEqual({
      kind: 'static',
      key: '127.0.0.1:5001',
      auth: { type: 'basic', username: 'freshet', password: 'pa:ss' },
    });
    expect(credentialsFor(config, registryNameOf(new URL('https://ghcr.io')))).toMatchObject({
      auth: { type: 'basic', username: 'bot', password: 'pat' },
    });
    expect(credentialsFor(config, hub)).toMatchObject({ auth: { type: 'identityToken', token: 'refresh' } });
    expect(credentialsFor(config, registryNameOf(new URL('https://quay.io')))).toMatchObject({
      auth: { type: 'token', token: 'bearer' },
    });
  });

  it('an empty entry, an empty file or no entry for the host means anonymous', () => {
    expect(credentialsFor(parse({ auths: { '127.0.0.1:5001': {} } }), local)).toEqual({ kind: 'none' });
    expect(credentialsFor(parse({}), local)).toEqual({ kind: 'none' });
    expect(credentialsFor(parse({ auths: { 'ghcr.io': { auth: b64('a:b') } } }), local)).toEqual({
      kind: 'none',
    });
  });

  it('names the key of a wrong auth shape, and never its value', () => {
    const secret = 'hunter2-not-base64!';
    const message = problemOf(JSON.stringify({ auths: { '127.0.0.1:5001': { auth: secret } } }));
    expect(message).toBe('auths["127.0.0.1:5001"].auth: expected base64 of user:password');
    expect(problemOf(JSON.stringify({ auths: { 'a.example': { auth: b64('no-colon') } } }))).toBe(
      'auths["a.example"].auth: expected base64 of user:password',
    );
    expect(problemOf(JSON.stringify({ auths: { 'a.example': { auth: b64(':empty-user') } } }))).toContain(
      'auths["a.example"].auth',
    );
    expect(problemOf(JSON.stringify({ auths: { 'a.example': { username: 'bot' } } }))).toBe(
      'auths["a.example"].password: a username needs a password',
    );
    const typed = problemOf(JSON.stringify({ auths: { 'a.example': { password: 12345 } }, credsStore: 7 }));
    expect(typed).toMatch(/^auths\["a.example"\].password: .*expected string.*; credsStore: /);
    expect(typed).not.toContain('12345');
  });

  it('says "not valid JSON" without quoting the text around the mistake', () => {
    const secret = 'sekrit-password-123';
    const message = problemOf(`{"auths": {"h": {"password": "${secret}" x}}}`);
    expect(message).toBe('not valid JSON');
    expect(problemOf('[]')).toMatch(/expected a JSON object/);
    expect(problemOf('null')).toMatch(/expected a JSON object/);
  });

  it('recognises the old .dockercfg layout and says how to fix it', () => {
    expect(problemOf(JSON.stringify({ '127.0.0.1:5001': { auth: b64('a:b') } }))).toMatch(
      /old \.dockercfg format .* wrap the entries in "auths"/,
    );
  });

  it('refuses helper names that are not program-name suffixes', () => {
    expect(problemOf(JSON.stringify({ credsStore: '../../bin/sh' }))).toMatch(/^credsStore: /);
    expect(problemOf(JSON.stringify({ credHelpers: { 'a.example': 'x y' } }))).toMatch(
      /^credHelpers\["a.example"\]: expected a helper name/,
    );
  });
});

describe('docker config files: lookup order', () => {
  const config: DockerConfig = parse({
    auths: {
      '127.0.0.1:5001': { auth: b64('file:pw') },
      'docker.io': { auth: b64('hub:pw') },
    },
    credHelpers: { 'https://127.0.0.1:5001': 'local-helper' },
    credsStore: 'desktop',
  });

  it('a helper named for the host in credHelpers comes first, and replaces the auths entry', () => {
    expect(credentialsFor(config, local)).toEqual({
      kind: 'helper',
      helper: 'local-helper',
      where: 'credHelpers["https://127.0.0.1:5001"]',
    });
  });

  it('then credsStore, for every other host, even one with an auths entry', () => {
    expect(credentialsFor(config, hub)).toEqual({ kind: 'helper', helper: 'desktop', where: 'credsStore' });
  });

  it('then the auths entry, when no helper is named', () => {
    const { credsStore: _, ...withoutStore } = config;
    expect(credentialsFor(withoutStore, hub)).toMatchObject({
      kind: 'static',
      key: 'docker.io',
      auth: { username: 'hub' },
    });
    expect(credentialsFor({ ...withoutStore, credsStore: '' }, hub)).toMatchObject({ kind: 'static' });
  });
});
