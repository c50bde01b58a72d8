/**
 * Regenerate config/kibana/slack-audit.ndjson from src/kibana/objects.ts:
 *   npx tsc -p tsconfig.build.json && node dist/src/kibana/write-ndjson.js
 * test/unit/kibana-objects.test.ts fails when the committed file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { KIBANA_NDJSON } from './import.js';
import { savedObjects, toNdjson } from './objects.js';

writeFileSync(KIBANA_NDJSON, toNdjson(savedObjects()));
process.stdout.write(`wrote ${KIBANA_NDJSON}\n`);
