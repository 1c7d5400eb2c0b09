// Connection options for Temporal from the config: plain, TLS, mutual TLS or an API key
// (Temporal Cloud). Secrets are read here, never passed into workflows.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { resolveSecret } from '../config/secrets.ts';

export interface TemporalConnectionOptions {
  address: string;
  tls?:
    | boolean
    | {
        serverNameOverride?: string;
        serverRootCACertificate?: Buffer;
        clientCertPair?: { crt: Buffer; key: Buffer };
      };
  apiKey?: string;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`temporal.tls.${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code})`);
  }
}

export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  const t = config.temporal;
  const apiKey =
    t.apiKeyEnv || t.apiKeyFile
      ? resolveSecret({ env: t.apiKeyEnv, file: t.apiKeyFile }, 'temporal.apiKey')
      : undefined;
  const tls = t.tls
    ? {
        ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
        ...(t.tls.caFile ? { serverRootCACertificate: readFile(t.tls.caFile, 'caFile') } : {}),
        ...(t.tls.certFile && t.tls.keyFile
          ? {
              clientCertPair: {
                crt: readFile(t.tls.certFile, 'certFile'),
                key: readFile(t.tls.keyFile, 'keyFile'),
              },
            }
          : {}),
      }
    : undefined;
  return {
    address: t.address,
    // An API key always travels over TLS.
    ...(tls ? { tls } : apiKey ? { tls: true } : {}),
    ...(apiKey ? { apiKey } : {}),
  };
}
