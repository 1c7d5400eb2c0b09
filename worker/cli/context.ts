// What most commands need: the config (--config, FRESHET_CONFIG or ./freshet.yaml) and a
// Temporal client built from it. The client loads only once the config has parsed, so a bad
// config fails fast.
import { existsSync } from 'node:fs';
import type { Client, Connection } from '@temporalio/client';
import { ConfigError, loadConfigFile } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { temporalConnectionOptions } from '../temporal-connection.ts';
import { CliError } from './output.ts';

export function configPath(flag: string | undefined): string {
  const path = flag ?? process.env.FRESHET_CONFIG ?? 'freshet.yaml';
  if (!existsSync(path)) {
    throw new CliError(
      `config file ${path} not found; pass --config FILE or set FRESHET_CONFIG${flag ? '' : ' (default: ./freshet.yaml)'}`,
      2,
    );
  }
  return path;
}

export function loadConfig(flag: string | undefined): Config {
  try {
    return loadConfigFile(configPath(flag));
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, 1);
    throw err;
  }
}

export async function withClient<T>(config: Config, fn: (client: Client) => Promise<T>): Promise<T> {
  const { Client, Connection } = await import('@temporalio/client');
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...temporalConnectionOptions(config),
      connectTimeout: '5 seconds',
    });
  } catch (err) {
    throw new CliError(
      `cannot reach Temporal at ${config.temporal.address}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  try {
    return await fn(new Client({ connection, namespace: config.temporal.namespace }));
  } finally {
    await connection.close();
  }
}
