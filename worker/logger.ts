// Structured logs: pino JSON, or readable lines on a terminal. Known secret fields are redacted
// wherever they appear, as a second line of defence (secrets are never logged on purpose).
import { type Logger, pino } from 'pino';
import type { LogSink } from './webhooks/types.ts';

export const redactedPaths = [
  'password',
  'token',
  'apiKey',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.authorization',
  '*.secret',
  'headers.authorization',
  'headers.cookie',
];

export interface LoggerOptions {
  level?: string;
  /** Human-readable lines instead of JSON; default: when stderr is a terminal. */
  pretty?: boolean;
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const destination = options.destination ?? process.stderr;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'freshet' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pretty ? prettyStream(destination) : (destination as pino.DestinationStream),
  );
}

const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/** `12:00:01 INFO  message key=value …` from pino's JSON lines. */
function prettyStream(out: NodeJS.WritableStream): pino.DestinationStream {
  return {
    write(line: string) {
      try {
        const {
          level,
          time,
          msg,
          service: _service,
          pid: _pid,
          hostname: _host,
          ...fields
        } = JSON.parse(line);
        const extra = Object.entries(fields)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const clock = typeof time === 'string' ? time.slice(11, 19) : '';
        out.write(
          `${clock} ${(levelNames[level] ?? String(level)).padEnd(5)} ${msg ?? ''}${extra ? `  ${extra}` : ''}\n`,
        );
      } catch {
        out.write(line);
      }
    },
  };
}

export function logSink(logger: Logger): LogSink {
  return {
    info: (fields, message) => logger.info(fields, message),
    warn: (fields, message) => logger.warn(fields, message),
    error: (fields, message) => logger.error(fields, message),
  };
}
