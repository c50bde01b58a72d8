import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Ensure real Redis and Elasticsearch are answering before any test runs (scripts/services.sh is
 * idempotent: it starts nothing if REDIS_URL / ELASTICSEARCH_URL already answer). Unit-only runs
 * can skip this with SLACK_AUDIT_SKIP_SERVICES=1.
 */
export default function setup(): void {
  if (process.env.SLACK_AUDIT_SKIP_SERVICES === '1') return;
  const script = resolve(import.meta.dirname, '..', '..', 'scripts', 'services.sh');
  execFileSync('bash', [script, 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 15 * 60_000 });
}
