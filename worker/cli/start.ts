// `freshet start`: the daemon. Logs go to stderr (pino), the Temporal SDK's logs and metrics
// are folded into Freshet's, and SIGTERM/SIGINT shut down gracefully: stop polling, give running
// activities the grace time to finish (or heartbeat their way back to Temporal), exit 0.
import { createServer } from 'node:net';
import { DefaultLogger, type LogLevel, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import { startDaemon } from '../daemon.ts';
import { createLogger, logSink } from '../logger.ts';

export interface StartOptions {
  config: Config;
  configPath: string;
  listen?: string;
  graceMs: number;
  logLevel?: string;
  pretty?: boolean;
  workflowBundlePath?: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

const sdkLevels: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

function installRuntime(log: Logger, metricsPort: number): void {
  const sdkLog = log.child({ component: 'temporal-sdk' });
  Runtime.install({
    logger: new DefaultLogger('INFO', (entry) => {
      sdkLog[sdkLevels[entry.level]]({ ...entry.meta }, entry.message);
    }),
    telemetryOptions: {
      metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } },
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
    },
    // Freshet orchestrates its own shutdown, below.
    shutdownSignals: [],
  });
}

export async function startCommand(options: StartOptions): Promise<number> {
  const log = createLogger({
    level: options.logLevel ?? options.config.log.level,
    ...(options.pretty !== undefined ? { pretty: options.pretty } : {}),
  });
  const metricsPort = await freePort();
  installRuntime(log, metricsPort);
  log.info(
    {
      config: options.configPath,
      temporal: options.config.temporal.address,
      namespace: options.config.temporal.namespace,
    },
    'starting freshet',
  );
  let daemon: Awaited<ReturnType<typeof startDaemon>>;
  try {
    daemon = await startDaemon({
      config: options.config,
      logger: logSink(log),
      shutdownGraceMs: options.graceMs,
      sdkMetricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
      ...(options.workflowBundlePath ? { workflowBundlePath: options.workflowBundlePath } : {}),
      ...(options.listen ? { listen: options.listen } : {}),
    });
  } catch (err) {
    log.error({ error: err instanceof Error ? err.message : String(err) }, 'freshet could not start');
    return 1;
  }
  log.info({ url: daemon.url }, 'ready: serving /metrics, /healthz, /readyz and /webhooks/<source>');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        resolve(1);
        return;
      }
      stopping = true;
      log.info(
        { signal, graceMs: options.graceMs },
        'shutting down: no new work; running activities get the grace time',
      );
      daemon.close().then(
        () => {
          log.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          log.error({ error: String(err) }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
