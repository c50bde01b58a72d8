import type { Command } from 'commander';
import { names } from '../config/load.js';
import { importKibanaObjects } from '../kibana/import.js';
import { createEsClient } from '../sink/es-client.js';
import { applyRetention, installTemplates } from '../sink/templates.js';
import { loadFromCommand } from './common.js';

interface SetupOptions {
  kibana?: string;
}

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .description('install Elasticsearch templates and indices (idempotent); optionally Kibana saved objects')
    .option('--kibana <url>', 'also import Kibana saved objects (data views, searches, dashboard)')
    .action(async (opts: SetupOptions, cmd: Command) => {
      const { config, log } = loadFromCommand(cmd);
      const es = createEsClient(config);
      const out = (line: string) => process.stdout.write(`${line}\n`);
      try {
        const n = names(config);
        out(`Elasticsearch ${config.elasticsearch.url}, namespace "${config.namespace}"`);
        for (const step of await installTemplates(es, config)) out(`  ${step.kind.padEnd(18)} ${step.name.padEnd(48)} ${step.result}`);
        out(`  events are searchable as ${n.eventsAlias} (and logs-*); monthly indices ${n.eventsIndexPrefix}YYYY.MM`);
        const months = config.elasticsearch.retentionMonths;
        if (months > 0) {
          const deleted = await applyRetention(es, config);
          out(`  retention ${months} month(s): ${deleted.length > 0 ? `deleted ${deleted.join(', ')}` : 'nothing to delete'}`);
        } else {
          out('  retention: keep forever (elasticsearch.retentionMonths = 0)');
        }
        if (opts.kibana) {
          // Kibana takes the same credentials as Elasticsearch in the usual (single security realm) setup.
          const c = config.elasticsearch;
          const auth = c.apiKey ? { apiKey: c.apiKey } : c.username && c.password ? { username: c.username, password: c.password } : undefined;
          const res = await importKibanaObjects(opts.kibana, { namespace: config.namespace, log, ...(auth ? { auth } : {}) });
          out(`Kibana ${opts.kibana}: imported ${res.imported} saved objects`);
        }
      } finally {
        await es.close();
      }
    });
}
