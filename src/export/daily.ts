import type { Client } from '@elastic/elasticsearch';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/schema.js';
import { logger, type Logger } from '../observe/logger.js';
import { createRedis } from '../queue/connection.js';
import { createEsClient } from '../sink/es-client.js';
import { collectorCoverageReader } from './collector-coverage.js';
import type { CoverageReader } from './completeness.js';
import { loadEd25519PrivateKey, loadHmacKey, type SigningKeys } from './manifest-crypto.js';
import { runExport, type ExportResult } from './run-export.js';
import { MANIFEST_FILE, STATE_FILE } from './types.js';

/**
 * Scheduled export (config.export.daily): the previous UTC day, [00:00, 24:00), into `<dir>/<YYYY-MM-DD>/`.
 * Idempotent: a day whose manifest exists is skipped; an interrupted day is resumed. An empty day still gets
 * a manifest (zero files) so that "nothing happened" is itself on record with its completeness statement.
 */

export interface DailyExportDeps {
  es?: Client;
  log?: Logger;
  /** Defaults to the collector's coverage in Redis; pass null to state completeness as unknown. */
  coverage?: CoverageReader | null;
}

export type DailyExportOutcome =
  | { status: 'disabled' }
  | { status: 'skipped'; day: string; dir: string }
  | { status: 'exported'; day: string; dir: string; result: ExportResult };

export function previousUtcDay(now: Date): { day: string; from: Date; to: Date } {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const from = new Date(to.getTime() - 86_400_000);
  return { day: from.toISOString().slice(0, 10), from, to };
}

export function signingKeysFromConfig(config: Config): SigningKeys {
  return {
    hmacKey: config.export.hmacKeyFile ? loadHmacKey(config.export.hmacKeyFile) : undefined,
    ed25519PrivateKey: config.export.ed25519PrivateKeyFile ? loadEd25519PrivateKey(config.export.ed25519PrivateKeyFile) : undefined,
  };
}

export async function runDailyExport(config: Config, now: Date, deps: DailyExportDeps = {}): Promise<DailyExportOutcome> {
  const daily = config.export.daily;
  if (!daily.enabled) return { status: 'disabled' };
  const { day, from, to } = previousUtcDay(now);
  const dir = join(resolve(daily.dir), day);
  if (existsSync(join(dir, MANIFEST_FILE)) && !existsSync(join(dir, STATE_FILE))) return { status: 'skipped', day, dir };

  const log = (deps.log ?? logger()).child({ component: 'daily-export', day });
  const es = deps.es ?? createEsClient(config);
  const redis = deps.coverage === undefined && config.sources.length > 0 ? createRedis(config, 'command') : null;
  const coverage = deps.coverage !== undefined ? deps.coverage : redis ? collectorCoverageReader(redis, config) : null;
  try {
    const result = await runExport(
      config,
      { from, to, format: daily.format, gzip: true, outDir: dir, resume: true, allowEmpty: true, signing: signingKeysFromConfig(config) },
      { es, log, coverage },
    );
    return { status: 'exported', day, dir, result };
  } finally {
    redis?.disconnect();
    if (!deps.es) await es.close();
  }
}
