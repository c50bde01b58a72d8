import type { Command } from 'commander';
import { notYet } from './common.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install Elasticsearch templates and indices (idempotent); optionally Kibana saved objects')
    .option('--kibana <url>', 'also import Kibana saved objects (data views, searches, dashboard)')
    .action(() => notYet('setup'));
}
