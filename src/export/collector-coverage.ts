import type { Redis } from 'ioredis';
import { readCoverage } from '../collect/coverage.js';
import type { Config } from '../config/schema.js';
import type { CoverageReader } from './completeness.js';

/** The completeness statement's data source: the collector's watermark and window records in Redis. */
export function collectorCoverageReader(redis: Redis, config: Config): CoverageReader {
  return async (sourceId) => {
    const c = await readCoverage(redis, config, sourceId);
    return { from: c.from, to: c.to, pendingIngestJobs: c.pendingIngestJobs, gaps: c.gaps };
  };
}
