import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, setRootLogger, type Logger } from '../observe/logger.js';

/** Load config from the root program's --config option (or env), and set up the root logger. */
export function loadFromCommand(cmd: Command, overrides?: Record<string, unknown>): { config: Config; log: Logger } {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  const file = root.opts<{ config?: string }>().config;
  const config = loadConfig({ file, ...(overrides ? { overrides } : {}) });
  const log = createLogger({ level: process.env.LOG_LEVEL ?? config.logLevel });
  setRootLogger(log);
  return { config, log };
}

export function notYet(what: string): never {
  throw new Error(`${what} is not implemented yet`);
}
