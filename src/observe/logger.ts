import pino, { type Logger, type LoggerOptions } from 'pino';
import { scrubSecrets, scrubString } from './secrets.js';

export type { Logger } from 'pino';

/** Paths pino removes before serializing: the usual places a credential sits. */
export const REDACT_PATHS = [
  'token',
  '*.token',
  '*.*.token',
  'password',
  '*.password',
  '*.*.password',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'req.headers.authorization',
  'config.sources[*].token',
  'config.slackAdmin.token',
  'config.elasticsearch.apiKey',
  'config.elasticsearch.password',
];

export interface LoggerSettings {
  level?: string;
  pretty?: boolean;
  name?: string;
  destination?: pino.DestinationStream;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const level = settings.level ?? process.env.LOG_LEVEL ?? 'info';
  const pretty = settings.pretty ?? (process.stdout.isTTY && process.env.CI !== 'true');
  const options: LoggerOptions = {
    level,
    name: settings.name ?? 'slack-audit',
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    serializers: { err: (err: unknown) => scrubSecrets(pino.stdSerializers.err(err as Error)) },
    formatters: {
      // Last line of defence: value-based scrubbing of every registered secret.
      log: (obj) => scrubSecrets(obj),
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? scrubString(a) : a)) as typeof args;
        method.apply(this, scrubbed);
      },
    },
  };
  if (settings.destination) return pino(options, settings.destination);
  if (pretty) {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, destination: 2 } } });
  }
  // Logs go to stderr so that commands can print results (JSON, summaries) on stdout.
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

let rootLogger: Logger | undefined;
export function logger(): Logger {
  rootLogger ??= createLogger();
  return rootLogger;
}
export function setRootLogger(l: Logger): void {
  rootLogger = l;
}
