/**
 * Stage 1: normalization on one core (this process' main thread): raw entry -> ECS document, GeoIP and
 * user-agent enrichment included, `event.original` kept (the default). A short warm-up on a separate enricher
 * instance lets the JIT settle without pre-filling the measured pass' UA cache.
 */
import type { Config } from '../../src/config/schema.js';
import { createEnrichers } from '../../src/normalize/enrich.js';
import { toEcs, type EcsDocument, type NormalizeContext } from '../../src/normalize/index.js';
import { registerSecret, scrubbedJson } from '../../src/observe/secrets.js';
import type { RawEntry } from '../../src/slack/entry.js';
import { RssSampler, timed } from './measure.js';

export interface NormalizedEvent {
  id: string;
  dateCreate: number;
  doc: EcsDocument;
}

export interface NormalizeFigures {
  events: number;
  failed: number;
  /** Wall seconds of the measured pass (inflated when the machine is shared). */
  seconds: number;
  /** CPU seconds of the measured pass: the figure that holds on a busy machine. */
  cpuSeconds: number;
  /** Events per CPU-second: what one dedicated core sustains. */
  eps: number;
  wallEps: number;
  usPerEvent: number;
  /** Same pass without GeoIP/UA enrichment (CPU µs): what enrichment costs. */
  plainUsPerEvent: number;
  /** JSON.stringify of one finished document (CPU µs; paid again by any bulk writer). */
  stringifyUsPerEvent: number;
  /** The indexer's secret scan of each serialized raw entry (scrubbedJson minus its JSON.stringify), one registered token (CPU µs). */
  scrubUsPerEvent: number;
  /** The same normalize pass with GeoIP results memoized per IP address (CPU µs): what a geo cache would save. */
  geoMemoUsPerEvent: number;
  avgDocBytes: number;
  enricherSetupMs: number;
  peakRss: number;
  docs: NormalizedEvent[];
}

function context(config: Config, enrich: Partial<NormalizeContext>, ingestedAt: string): Partial<NormalizeContext> {
  return { sourceId: 'bench', keepOriginal: config.elasticsearch.keepOriginal, namespace: config.namespace, ingestedAt, ...enrich };
}

export function runNormalize(config: Config, entries: readonly RawEntry[]): NormalizeFigures {
  const rss = new RssSampler();
  const ingestedAt = new Date().toISOString();
  // Warm-up: the JIT, the mmdb readers (cached per process by path) and Intl.
  const warm = createEnrichers(config.geoip);
  const warmCtx = context(config, warm, ingestedAt);
  for (let i = 0; i < Math.min(5000, entries.length); i++) toEcs(entries[(i * 7919) % entries.length], warmCtx);

  const setup = timed(() => createEnrichers(config.geoip));
  const ctx = context(config, setup.value, ingestedAt);
  let failed = 0;
  const pass = timed(() => {
    const docs: NormalizedEvent[] = [];
    for (const entry of entries) {
      const r = toEcs(entry, ctx);
      if (r.ok) docs.push({ id: r.id, dateCreate: r.dateCreate, doc: r.doc });
      else failed++;
    }
    return docs;
  });
  rss.sample();
  const docs = pass.value;

  // Breakdown on a sample (a full second pass would double the stage for a figure that only explains).
  const sample = entries.slice(0, Math.min(entries.length, 50_000));
  const plainCtx = context(config, {}, ingestedAt);
  for (let i = 0; i < Math.min(2000, sample.length); i++) toEcs(sample[i], plainCtx);
  const plain = timed(() => {
    for (const entry of sample) toEcs(entry, plainCtx);
  });
  const sampleDocs = docs.slice(0, sample.length);
  const str = timed(() => {
    let bytes = 0;
    for (const d of sampleDocs) bytes += JSON.stringify(d.doc).length;
    return bytes;
  });

  // What the indexer adds per entry: scrubbedJson serializes the raw entry (reused as event.original, which
  // the pass above paid for already) and scans that text once for secrets. The figure is the scan alone.
  registerSecret('xoxp-bench-audit-token-0000');
  for (let i = 0; i < Math.min(2000, sample.length); i++) scrubbedJson(sample[i]);
  const scrub = timed(() => {
    for (const entry of sample) scrubbedJson(entry);
  });
  const rawStr = timed(() => {
    for (const entry of sample) JSON.stringify(entry);
  });
  const geo = setup.value.geo;
  const memo = new Map<string, ReturnType<NonNullable<typeof geo>>>();
  const memoCtx = context(config, { ...createEnrichers(config.geoip), ...(geo ? { geo: (ip: string) => (memo.has(ip) ? memo.get(ip) : (memo.set(ip, geo(ip)), memo.get(ip))) } : {}) }, ingestedAt);
  const memoPass = timed(() => {
    for (const entry of sample) toEcs(entry, memoCtx);
  });

  return {
    scrubUsPerEvent: (Math.max(0, scrub.cpuSeconds - rawStr.cpuSeconds) * 1e6) / Math.max(1, sample.length),
    geoMemoUsPerEvent: (memoPass.cpuSeconds * 1e6) / Math.max(1, sample.length),
    events: entries.length,
    failed,
    seconds: pass.seconds,
    cpuSeconds: pass.cpuSeconds,
    eps: entries.length / pass.cpuSeconds,
    wallEps: entries.length / pass.seconds,
    usPerEvent: (pass.cpuSeconds * 1e6) / entries.length,
    plainUsPerEvent: (plain.cpuSeconds * 1e6) / Math.max(1, sample.length),
    stringifyUsPerEvent: (str.cpuSeconds * 1e6) / Math.max(1, sampleDocs.length),
    avgDocBytes: str.value / Math.max(1, sampleDocs.length),
    enricherSetupMs: setup.seconds * 1000,
    peakRss: rss.stop(),
    docs,
  };
}
