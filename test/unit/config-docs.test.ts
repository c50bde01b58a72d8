import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ENV_VARS } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { CONFIG_DOC, renderConfigDocs, schemaComments } from '../../scripts/gen-config-docs.js';

describe('docs/configuration.md', () => {
  const committed = readFileSync(CONFIG_DOC, 'utf8');
  const generated = renderConfigDocs();

  it('is up to date with src/config/schema.ts and ENV_VARS', () => {
    // On failure: run `npx tsc -p tsconfig.build.json && node dist/scripts/gen-config-docs.js` and commit the file.
    expect(committed === generated, 'docs/configuration.md is stale: run `node dist/scripts/gen-config-docs.js` (after a build) and commit it').toBe(true);
  });

  it('documents every env var of the contract and every leaf key of the schema', () => {
    for (const v of ENV_VARS) expect(generated).toContain(`| \`${v}\` |`);
    const leaves: string[] = [];
    const walk = (schema: unknown, path: string) => {
      const node = z.object({ type: z.unknown().optional(), properties: z.record(z.string(), z.unknown()).optional(), items: z.unknown().optional() }).loose().parse(schema);
      if (node.properties) for (const [k, v] of Object.entries(node.properties)) walk(v, path ? `${path}.${k}` : k);
      else if (node.type === 'array' && node.items && z.object({ properties: z.record(z.string(), z.unknown()) }).loose().safeParse(node.items).success) walk(node.items, `${path}[]`);
      else leaves.push(path);
    };
    walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), '');
    expect(leaves.length).toBeGreaterThan(50);
    for (const leaf of leaves) expect(generated, leaf).toContain(`| \`${leaf}\` |`);
  });

  it('shows types, defaults and bounds from the schema', () => {
    expect(generated).toMatch(/\| `sources\[\]\.pollIntervalSeconds` \| integer \| `60` \| Seconds between two live polls\. \(1–3600\) \|/);
    expect(generated).toMatch(/\| `responses\.mode` \| `"dry-run"` \\\| `"enforce"` \| `"dry-run"` \|/);
    expect(generated).toMatch(/\| `metrics\.host` \| string \| `"127\.0\.0\.1"` \|/);
  });

  it('takes descriptions from the JSDoc comments in schema.ts with exact nesting', () => {
    const comments = schemaComments();
    expect(comments.get('sources[].rateBudgetPerMinute')).toMatch(/Requests per minute/);
    expect(comments.get('sources[].tokenFile')).toMatch(/Path of a file holding the secret/);
    expect(comments.get('rules.stallMinutes')).toMatch(/no data/);
    expect(comments.has('rateBudgetPerMinute')).toBe(false);
  });
});
