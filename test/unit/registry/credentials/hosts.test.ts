import { describe, expect, it } from 'vitest';
import {
  dockerHubServerAddress,
  entryFor,
  hostOfKey,
  registryNameOf,
} from '../../../../activities/registry/credentials/hosts.ts';

describe('docker config host matching', () => {
  it('reads every spelling of a key as the host it names: scheme and path dropped', () => {
    expect(hostOfKey('https://registry.example:5000')).toBe('registry.example:5000');
    expect(hostOfKey('http://registry.example/v2/')).toBe('registry.example');
    expect(hostOfKey('registry.example:5000/v1/')).toBe('registry.example:5000');
    expect(hostOfKey('Registry.Example')).toBe('registry.example');
    expect(hostOfKey('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
    );
  });

  it('takes every name of Docker Hub for the same registry', () => {
    for (const key of [
      'https://index.docker.io/v1/',
      'index.docker.io',
      'docker.io',
      'registry-1.docker.io',
      'https://registry-1.docker.io/v2/',
    ])
      expect(hostOfKey(key), key).toBe('docker.io');
  });

  it('names a registry URL as Docker passes it to helpers: Docker Hub by its v1 key, others by host:port', () => {
    expect(registryNameOf(new URL('https://registry-1.docker.io'))).toEqual({
      host: 'docker.io',
      serverAddress: dockerHubServerAddress,
    });
    expect(registryNameOf(new URL('http://127.0.0.1:5001'))).toEqual({
      host: '127.0.0.1:5001',
      serverAddress: '127.0.0.1:5001',
    });
    expect(registryNameOf(new URL('https://ghcr.io/'))).toEqual({
      host: 'ghcr.io',
      serverAddress: 'ghcr.io',
    });
  });

  it('prefers the key Docker looks up, then the first key for the same host, and keeps ports apart', () => {
    const hub = registryNameOf(new URL('https://registry-1.docker.io'));
    expect(entryFor({ 'docker.io': 'a', [dockerHubServerAddress]: 'b' }, hub)).toEqual({
      key: dockerHubServerAddress,
      value: 'b',
    });
    expect(entryFor({ 'index.docker.io': 'a', 'docker.io': 'b' }, hub)).toEqual({
      key: 'index.docker.io',
      value: 'a',
    });
    const local = registryNameOf(new URL('http://127.0.0.1:5001'));
    expect(entryFor({ '127.0.0.1': 'no port', 'http://127.0.0.1:5001/v2/': 'yes' }, local)).toEqual({
      key: 'http://127.0.0.1:5001/v2/',
      value: 'yes',
    });
    expect(entryFor({ '127.0.0.1:5000': 'other port' }, local)).toBeUndefined();
    expect(entryFor(undefined, local)).toBeUndefined();
    // A key named like an Object.prototype member is just a key.
    expect(entryFor({}, registryNameOf(new URL('http://constructor')))).toBeUndefined();
  });
});
