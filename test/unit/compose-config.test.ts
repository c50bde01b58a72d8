/**
 * docker-compose.yml and the Dockerfile stay in step with the code: image tags follow the ES version the
 * tests run against (scripts/services.sh), the app services use exactly the public env contract (ENV_VARS),
 * ports are published on loopback only, and Compose itself accepts the file (`docker compose config -q`, or
 * docker-compose v1; our machines have the client but no engine, which `config` does not need).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { ENV_VARS, PROJECT_ROOT, loadConfig } from '../../src/config/load.js';

const COMPOSE_FILE = resolve(PROJECT_ROOT, 'docker-compose.yml');

const serviceSchema = z
  .object({
    image: z.string().optional(),
    build: z.unknown().optional(),
    command: z.union([z.array(z.string()), z.string()]).optional(),
    environment: z.union([z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])), z.array(z.string())]).optional(),
    ports: z.array(z.union([z.string(), z.number(), z.object({ host_ip: z.string().optional(), published: z.unknown().optional(), target: z.unknown() }).loose()])).optional(),
  })
  .loose();
const composeSchema = z.object({ services: z.record(z.string(), serviceSchema) }).loose();
type Service = z.infer<typeof serviceSchema>;

const compose = composeSchema.parse(parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }));
const services = compose.services;
const isApp = (s: Service) => s.build !== undefined || (s.image ?? '').startsWith('slack-audit');
const appServices = Object.entries(services).filter(([, s]) => isApp(s));

function envNames(s: Service): string[] {
  const env = s.environment ?? {};
  return Array.isArray(env) ? env.map((e) => e.split('=')[0] ?? e) : Object.keys(env);
}

function esVersionFromServicesScript(): string {
  const script = readFileSync(resolve(PROJECT_ROOT, 'scripts', 'services.sh'), 'utf8');
  const m = /ES_VERSION="\$\{SLACK_AUDIT_ES_VERSION:-([0-9.]+)\}"/.exec(script);
  if (!m?.[1]) throw new Error('cannot find the SLACK_AUDIT_ES_VERSION default in scripts/services.sh');
  return m[1];
}

/** The Compose implementation on this machine, if any: `docker compose` (v2 plugin) or `docker-compose` (v1). */
function composeCommand(): string[] | undefined {
  for (const cmd of [['docker', 'compose'], ['docker-compose']]) {
    const r = spawnSync(cmd[0] as string, [...cmd.slice(1), 'version'], { encoding: 'utf8' });
    if (r.status === 0) return cmd;
  }
  return undefined;
}
const composeCli = composeCommand();

describe('docker-compose.yml', () => {
  it.skipIf(composeCli === undefined)(`passes \`${(composeCli ?? ['docker', 'compose']).join(' ')} config -q\``, () => {
    const [bin, ...pre] = composeCli as string[];
    // No .env here and no secrets needed: every ${VAR:-default} resolves.
    const out = spawnSync(bin as string, [...pre, '-f', COMPOSE_FILE, 'config', '-q'], { encoding: 'utf8', cwd: PROJECT_ROOT, env: { PATH: process.env.PATH ?? '' } });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    // And the resolved file still has every role (anchors and merges expanded by Compose itself).
    const resolved = composeSchema.parse(parse(execFileSync(bin as string, [...pre, '-f', COMPOSE_FILE, 'config'], { encoding: 'utf8', cwd: PROJECT_ROOT })));
    expect(Object.keys(resolved.services).sort()).toEqual(Object.keys(services).sort());
    for (const role of ['scheduler', 'indexer', 'rules']) expect(envNames(resolved.services[role] as Service)).toContain('SLACK_AUDIT_TOKEN');
  });

  it('uses Elasticsearch and Kibana images of the version the tests run against (scripts/services.sh)', () => {
    const version = esVersionFromServicesScript();
    expect(services.elasticsearch?.image).toBe(`docker.elastic.co/elasticsearch/elasticsearch:${version}`);
    expect(services.kibana?.image).toBe(`docker.elastic.co/kibana/kibana:${version}`);
    expect(version).toMatch(/^8\.19\./);
  });

  it('has Redis 7 with AOF and noeviction', () => {
    expect(services.redis?.image).toMatch(/^redis:7(\.|$)/);
    const cmd = [services.redis?.command ?? []].flat().join(' ');
    expect(cmd).toMatch(/--appendonly yes/);
    expect(cmd).toMatch(/--maxmemory-policy noeviction/);
  });

  it('runs the scheduler, indexer and rules roles and a setup one-shot from our image', () => {
    const cmd = (name: string) => [services[name]?.command ?? []].flat().join(' ');
    expect(cmd('scheduler')).toBe('run --role scheduler');
    expect(cmd('indexer')).toBe('run --role indexer');
    expect(cmd('rules')).toBe('run --role rules');
    expect(cmd('setup')).toBe('setup');
    for (const name of ['scheduler', 'indexer', 'rules', 'setup']) expect(isApp(services[name] as Service), name).toBe(true);
  });

  it('app services use only the public env contract (ENV_VARS or LOG_LEVEL), and all of it', () => {
    const allowed = new Set<string>([...ENV_VARS, 'LOG_LEVEL']);
    expect(appServices.length).toBeGreaterThanOrEqual(4);
    for (const [name, s] of appServices) {
      const unknown = envNames(s).filter((e) => !allowed.has(e));
      expect(unknown, `${name} uses env names outside the contract`).toEqual([]);
      const missing = ENV_VARS.filter((e) => !envNames(s).includes(e));
      expect(missing, `${name} does not wire these contract env vars`).toEqual([]);
    }
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const p of s.ports ?? []) {
        const hostIp = typeof p === 'object' ? p.host_ip : String(p).split(':')[0];
        expect(hostIp, `${name}: ${JSON.stringify(p)}`).toBe('127.0.0.1');
        if (typeof p !== 'object') expect(String(p).split(':'), `${name}: ${p} names host ip, host port and container port`).toHaveLength(3);
      }
    }
    // The ops server of each role is published (container port = SLACK_AUDIT_METRICS_PORT).
    for (const role of ['scheduler', 'indexer', 'rules']) {
      const metricsPort = String((services[role]?.environment as Record<string, unknown> | undefined)?.SLACK_AUDIT_METRICS_PORT);
      expect(services[role]?.ports?.map((p) => (typeof p === 'object' ? String(p.target) : String(p).split(':').at(-1)))).toContain(metricsPort);
    }
  });

  it('the config file the image uses is valid and lets the ops server listen inside the container', () => {
    const env = (services.scheduler?.environment ?? {}) as Record<string, unknown>;
    expect(env.SLACK_AUDIT_CONFIG).toBe('/app/config/docker.yaml');
    const config = loadConfig({ file: resolve(PROJECT_ROOT, 'config', 'docker.yaml'), env: {} });
    expect(config.metrics.host).toBe('0.0.0.0');
    expect(config.metrics.port).toBe(Number(env.SLACK_AUDIT_METRICS_PORT));
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(resolve(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));

  it('is a multi-stage node:20-slim build (npm ci, npm run build) running as a non-root user', () => {
    const froms = lines.filter((l) => l.startsWith('FROM '));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM node:20-slim\b/);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/npm run build/);
    const users = lines.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/USER (root|0)\b/);
    expect(lines.some((l) => l.trim() === 'ENTRYPOINT ["node", "dist/src/cli.js"]' || l.trim() === 'ENTRYPOINT ["node","dist/src/cli.js"]')).toBe(true);
  });

  it('.dockerignore keeps node_modules, dist, .git and .env out of the build context', () => {
    const ignore = readFileSync(resolve(PROJECT_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const p of ['node_modules', 'dist', '.git', '.env', '.services']) expect(ignore).toContain(p);
  });
});
