/**
 * Child-process entry for collector crash tests: `node dist/test/helpers/run-scheduler.js` with the config
 * overrides as JSON in SLACK_AUDIT_TEST_OVERRIDES. Runs the scheduler role until SIGTERM (or SIGKILL).
 */
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observe/logger.js';
import { startScheduler } from '../../workers/scheduler.js';

const overrides = JSON.parse(process.env.SLACK_AUDIT_TEST_OVERRIDES ?? '{}') as Record<string, unknown>;
const config = loadConfig({ file: '/dev/null', env: { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }, overrides });
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', pretty: false });
const scheduler = await startScheduler(config, log);
process.stdout.write('scheduler-ready\n');
const stop = () => {
  void scheduler.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
