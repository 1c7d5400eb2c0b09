// The baseline of `footprint`: what the Temporal SDK alone costs. A Node process with the same
// runtime settings as `freshet start` (Core's Prometheus exporter, forwarded logs), one native
// connection and one worker running Freshet's workflow bundle on a task queue of its own, no
// activities. `node bench/footprint-baseline.ts ADDRESS NAMESPACE TASK_QUEUE BUNDLE`; prints
// "ready" once polling.
import { createServer } from 'node:net';
import {
  DefaultLogger,
  makeTelemetryFilterString,
  NativeConnection,
  Runtime,
  Worker,
} from '@temporalio/worker';

const [address, namespace, taskQueue, codePath] = process.argv.slice(2);
if (!address || !namespace || !taskQueue || !codePath) {
  console.error('usage: footprint-baseline.ts ADDRESS NAMESPACE TASK_QUEUE BUNDLE');
  process.exit(2);
}
const metricsPort = await new Promise<number>((resolve, reject) => {
  const server = createServer();
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => {
    const port = (server.address() as { port: number }).port;
    server.close(() => resolve(port));
  });
});
Runtime.install({
  logger: new DefaultLogger('WARN'),
  telemetryOptions: {
    metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } },
    logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN', other: 'ERROR' }) },
  },
  shutdownSignals: [],
});
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({ connection, namespace, taskQueue, workflowBundle: { codePath } });
const running = worker.run();
console.log('ready');
process.on('SIGTERM', () => {
  worker.shutdown();
  void running.then(() => connection.close()).then(() => process.exit(0));
});
