import type { Client } from '@elastic/elasticsearch';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../config/load.js';
import { names } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SlackAuditError } from '../errors.js';
import type { Logger } from '../observe/logger.js';
import { buildEsQuery, EXPORT_SORT_DESCRIPTION, invalid } from './build-query.js';
import { buildCompleteness, type CoverageReader } from './completeness.js';
import { clusterInfo, openPitReader, resolveEventIndices, type PitReader } from './es-reader.js';
import { canonicalBytes, CHAIN_DEFINITION, CHAIN_GENESIS, computeChain, sha256Hex, signManifestBytes, sortKeysDeep, type SigningKeys } from './manifest-crypto.js';
import { createPartWriter, hashFile, reopenPlainPart, type PartWriter } from './part-writer.js';
import { silentProgress, type ExportProgress } from './progress.js';
import { csvHeader, formatRecord, getPath } from './records.js';
import {
  exportStateSchema,
  MANIFEST_FILE,
  manifestSchema,
  PART_FILE_RE,
  SIGNATURE_FILE,
  STATE_FILE,
  type Completeness,
  type ExportFormat,
  type ExportLayout,
  type ExportQuery,
  type ExportState,
  type FileEntry,
  type Manifest,
  type SignatureFile,
  type SortKey,
} from './types.js';

/**
 * The export run: read the range from a point-in-time in (@timestamp, event.id) order, write records into
 * size-bounded part files, checkpoint after every page, then write the manifest (and its signature).
 *
 * Resume (kill -9 safe): `.export-state.json` is replaced atomically (write + rename) after each page and at
 * each file rotation. It records the completed files with their hashes, and for the open file the committed
 * prefix (bytes, prefix SHA-256, position after its last record). On --resume, completed files are re-hashed,
 * the open plain file is cut back to its committed prefix (or restarted from its first record when that
 * prefix is not intact, and always for .gz), stray later parts are deleted, and reading continues with a
 * new PIT after the committed position. Data bytes depend only on the documents and the layout, so a
 * resumed export is byte-identical to an uninterrupted one; only manifest.json carries the export time.
 */

export interface ExportRequest {
  from: Date;
  to: Date;
  source?: string | null | undefined;
  actions?: readonly string[] | null | undefined;
  actor?: string | null | undefined;
  query?: Record<string, unknown> | null | undefined;
  format: ExportFormat;
  gzip: boolean;
  outDir: string;
  resume: boolean;
  /** Defaults to config.export.maxFileBytes. */
  maxFileBytes?: number | undefined;
  /** Documents per ES page (and per checkpoint). */
  pageSize?: number | undefined;
  /** Write a manifest with no files instead of failing when nothing matches (scheduled exports). */
  allowEmpty?: boolean | undefined;
  signing?: SigningKeys | undefined;
}

export interface ExportDeps {
  es: Client;
  log: Logger;
  /** Collector coverage per source; null states completeness as unknown. */
  coverage?: CoverageReader | null | undefined;
  progress?: ExportProgress | undefined;
  now?: (() => Date) | undefined;
}

export interface ExportResult {
  outDir: string;
  manifest: Manifest;
  signed: boolean;
  resumed: boolean;
  /** --resume found a finished export (manifest, no state): nothing was done. */
  alreadyComplete: boolean;
}

export function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(resolve(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function partName(index: number, layout: ExportLayout): string {
  return `part-${String(index).padStart(5, '0')}.${layout.format}${layout.gzip ? '.gz' : ''}`;
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, path);
}

async function readState(path: string): Promise<ExportState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalid(`resume state ${path} is not valid JSON (${(err as Error).message}); start a new export in an empty directory`);
  }
  const parsed = exportStateSchema.safeParse(raw);
  if (!parsed.success) throw invalid(`resume state ${path} is not a slack-audit export state: ${parsed.error.message}`);
  return parsed.data;
}

export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new SlackAuditError('SLACK_AUDIT_EXPORT_VERIFY_FAILED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) throw new SlackAuditError('SLACK_AUDIT_EXPORT_VERIFY_FAILED', `${path} is not a slack-audit export manifest: ${parsed.error.message}`);
  return parsed.data;
}

function sameParams(q1: ExportQuery, l1: ExportLayout, q2: ExportQuery, l2: ExportLayout): boolean {
  return sha256Hex(canonicalBytes({ q1, l1 })) === sha256Hex(canonicalBytes({ q1: q2, l1: l2 }));
}

interface OpenFile {
  name: string;
  writer: PartWriter;
  startAfter: SortKey | null;
  contentBytes: number;
  records: number;
  first: string | null;
  last: string | null;
  after: SortKey | null;
}

export async function runExport(config: Config, req: ExportRequest, deps: ExportDeps): Promise<ExportResult> {
  const { es, log } = deps;
  const progress = deps.progress ?? silentProgress;
  const now = deps.now ?? (() => new Date());
  if (!(req.from.getTime() < req.to.getTime())) throw invalid(`bad time range: from (${req.from.toISOString()}) must be before to (${req.to.toISOString()})`);
  const pageSize = req.pageSize ?? 1000;
  const query: ExportQuery = {
    namespace: config.namespace,
    from: req.from.toISOString(),
    to: req.to.toISOString(),
    source: req.source ?? null,
    actions: req.actions && req.actions.length > 0 ? [...req.actions] : null,
    actor: req.actor ?? null,
    query: req.query ?? null,
  };
  const layout: ExportLayout = { format: req.format, gzip: req.gzip, max_file_bytes: req.maxFileBytes ?? config.export.maxFileBytes };
  const outDir = resolve(req.outDir);
  await mkdir(outDir, { recursive: true });
  const statePath = join(outDir, STATE_FILE);
  const manifestPath = join(outDir, MANIFEST_FILE);

  let state = await readState(statePath);
  if (!state && existsSync(manifestPath)) {
    if (req.resume) {
      const done = readManifest(outDir);
      if (!sameParams(done.query, done.layout, query, layout)) throw invalid(`--resume with different parameters than the finished export in ${outDir}`);
      return { outDir, manifest: done, signed: existsSync(join(outDir, SIGNATURE_FILE)), resumed: false, alreadyComplete: true };
    }
    throw invalid(`${outDir} already holds a finished export (${MANIFEST_FILE}); choose an empty directory`);
  }
  if (state && !req.resume) throw invalid(`${outDir} holds an interrupted export; pass --resume to continue it, or choose an empty directory`);
  const resumed = state !== null;
  if (state) {
    if (!sameParams(state.query, state.layout, query, layout)) {
      throw invalid(`--resume with different parameters than the interrupted export in ${outDir} (was ${JSON.stringify({ ...state.query, ...state.layout })})`);
    }
    state.resumes += 1;
    await prepareResume(outDir, state, log);
  } else {
    const stray = (await readdir(outDir)).filter((n) => PART_FILE_RE.test(n));
    if (stray.length > 0) throw invalid(`${outDir} already holds export files (${stray[0] ?? ''}, ...); choose an empty directory`);
    state = { v: 1, query, layout, files: [], after: null, current: null, done: false, resumes: 0 };
  }
  const st: ExportState = state;
  const saveState = () => writeAtomic(statePath, `${JSON.stringify(st)}\n`);
  await saveState();

  const n = names(config);
  const sourceIds = query.source !== null ? [query.source] : config.sources.map((s) => s.id);
  // Coverage is read before the PIT opens: a range that was fully collected with no ingest job pending at
  // this moment is fully visible to a PIT opened afterwards.
  const completeness = await buildCompleteness(sourceIds, req.from.getTime(), req.to.getTime(), deps.coverage ?? null);

  const indices = await resolveEventIndices(es, n.eventsPattern, n.eventsIndexPrefix, req.from, req.to);
  const esQuery = buildEsQuery(query);
  const reader: PitReader | null = indices.length > 0 ? await openPitReader(es, indices, esQuery) : null;
  let esCount = 0;
  try {
    esCount = reader ? await reader.count() : 0;
    if (esCount === 0 && !req.allowEmpty) {
      throw invalid(`no events match the export (namespace ${config.namespace}, ${query.from} .. ${query.to}${query.source ? `, source ${query.source}` : ''}${query.actions ? `, actions ${query.actions.join(',')}` : ''}${query.actor ? `, actor ${query.actor}` : ''})`);
    }
    if (!st.done && reader) await streamRecords(outDir, st, saveState, reader, layout, pageSize, esCount, progress, log);
    if (!st.done) {
      st.done = true;
      await saveState();
    }
  } finally {
    await reader?.close();
  }

  const total = st.files.reduce((sum, f) => sum + f.records, 0);
  if (total !== esCount) {
    throw invalid(
      `exported ${total} records but Elasticsearch counts ${esCount} for the same query: the data changed while the export was interrupted or running; export again into an empty directory`,
      { total, esCount },
    );
  }
  const chain = computeChain(st.files);
  const files: FileEntry[] = st.files.map((f, i) => ({ ...f, chain: chain[i] ?? '' }));
  const manifest: Manifest = {
    manifest_version: 1,
    tool: { name: 'slack-audit', version: toolVersion() },
    exported_at: now().toISOString(),
    query,
    layout,
    sort: EXPORT_SORT_DESCRIPTION,
    elasticsearch: { ...(await clusterInfo(es)), target: n.eventsPattern, indices },
    files,
    total_records: total,
    es_count: esCount,
    chain: { algorithm: 'sha256', genesis: CHAIN_GENESIS, head: chain[chain.length - 1] ?? CHAIN_GENESIS, definition: CHAIN_DEFINITION },
    completeness: completeness satisfies Completeness,
    resumes: st.resumes,
  };
  const signed = await writeManifest(outDir, manifest, req.signing ?? {});
  await rm(statePath, { force: true });
  log.info({ dir: outDir, files: files.length, records: total, completeness: completeness.status, signed }, 'export written');
  return { outDir, manifest, signed, resumed, alreadyComplete: false };
}

/** Write manifest.json (pretty, keys sorted) and, when keys are given, manifest.sig.json over its canonical bytes. */
export async function writeManifest(outDir: string, manifest: Manifest, keys: SigningKeys): Promise<boolean> {
  const bytes = canonicalBytes(manifest);
  const signatures = signManifestBytes(bytes, keys);
  const sigPath = join(outDir, SIGNATURE_FILE);
  if (signatures.length > 0) {
    const sig: SignatureFile = { signed_file: MANIFEST_FILE, canonicalization: 'slack-audit-canonical-json-v1', manifest_sha256: sha256Hex(bytes), signatures };
    await writeAtomic(sigPath, `${JSON.stringify(sortKeysDeep(sig), null, 2)}\n`);
  } else {
    await rm(sigPath, { force: true });
  }
  await writeAtomic(join(outDir, MANIFEST_FILE), `${JSON.stringify(sortKeysDeep(manifest), null, 2)}\n`);
  return signatures.length > 0;
}

/** Check what an interrupted run left behind and drop whatever is not covered by the state. */
async function prepareResume(outDir: string, state: ExportState, log: Logger): Promise<void> {
  for (const f of state.files) {
    const path = join(outDir, f.name);
    const actual = existsSync(path) ? await hashFile(path) : null;
    if (!actual || actual.sha256 !== f.sha256 || actual.bytes !== f.bytes) {
      throw invalid(`cannot resume: completed file ${f.name} is missing or changed since the interruption; export again into an empty directory`, { file: f.name });
    }
  }
  const keep = new Set([...state.files.map((f) => f.name), ...(state.current ? [state.current.name] : [])]);
  for (const name of await readdir(outDir)) {
    if ((PART_FILE_RE.test(name) && !keep.has(name)) || name.endsWith('.tmp')) {
      log.info({ file: name }, 'resume: removing a file the interrupted run had not committed');
      await rm(join(outDir, name), { force: true });
    }
  }
}

async function streamRecords(
  outDir: string,
  state: ExportState,
  saveState: () => Promise<void>,
  reader: PitReader,
  layout: ExportLayout,
  pageSize: number,
  esCount: number,
  progress: ExportProgress,
  log: Logger,
): Promise<void> {
  const header = layout.format === 'csv' ? Buffer.from(csvHeader(), 'utf8') : null;
  let exported = state.files.reduce((s, f) => s + f.records, 0);
  let open: OpenFile | null = null;
  let position: SortKey | null = state.after;

  const startFile = async (name: string, startAfter: SortKey | null): Promise<OpenFile> => {
    const writer = await createPartWriter(join(outDir, name), layout.gzip);
    const file: OpenFile = { name, writer, startAfter, contentBytes: 0, records: 0, first: null, last: null, after: startAfter };
    if (header) {
      await writer.write([header]);
      file.contentBytes += header.length;
    }
    return file;
  };

  if (state.current) {
    const c = state.current;
    const path = join(outDir, c.name);
    const reopened = !layout.gzip && c.committed.records > 0 ? await reopenPlainPart(path, c.committed.bytes, c.committed.prefix_sha256) : null;
    if (reopened) {
      open = {
        name: c.name,
        writer: reopened,
        startAfter: c.start_after,
        contentBytes: c.committed.content_bytes,
        records: c.committed.records,
        first: c.committed.first_timestamp,
        last: c.committed.last_timestamp,
        after: c.committed.after,
      };
      position = c.committed.after;
      exported += c.committed.records;
      log.info({ file: c.name, records: c.committed.records, bytes: c.committed.bytes }, 'resume: continuing the open file after its last committed record');
    } else {
      open = await startFile(c.name, c.start_after);
      position = c.start_after;
      log.info({ file: c.name }, 'resume: rewriting the open file from its first record');
    }
  }

  const commit = async (file: OpenFile) => {
    state.current = {
      name: file.name,
      start_after: file.startAfter,
      committed: {
        bytes: file.writer.bytesWritten(),
        content_bytes: file.contentBytes,
        records: file.records,
        prefix_sha256: file.writer.prefixSha256(),
        after: file.after,
        first_timestamp: file.first,
        last_timestamp: file.last,
      },
    };
    await saveState();
  };

  const finish = async (file: OpenFile) => {
    const { bytes, sha256 } = await file.writer.close();
    state.files.push({ name: file.name, records: file.records, bytes, sha256, first_timestamp: file.first ?? '', last_timestamp: file.last ?? '' });
    state.after = file.after;
    state.current = null;
    await saveState();
  };

  progress.start(esCount, exported);
  try {
    let pending: Buffer[] = [];
    for await (const page of reader.pages(position, pageSize)) {
      for (const hit of page) {
        const line = Buffer.from(formatRecord(layout.format, hit.source), 'utf8');
        if (open && open.records > 0 && open.contentBytes + line.length > layout.max_file_bytes) {
          await open.writer.write(pending);
          pending = [];
          await finish(open);
          open = null;
        }
        if (!open) {
          const name = partName(state.files.length + 1, layout);
          // State first, then the file: a crash in between leaves a state that names a file not yet written.
          state.current = {
            name,
            start_after: state.after,
            committed: { bytes: 0, content_bytes: 0, records: 0, prefix_sha256: '', after: state.after, first_timestamp: null, last_timestamp: null },
          };
          await saveState();
          open = await startFile(name, state.after);
        }
        const ts = getPath(hit.source, '@timestamp');
        const stamp = typeof ts === 'string' ? ts : hit.sortKey[0];
        pending.push(line);
        open.contentBytes += line.length;
        open.records += 1;
        open.first ??= stamp;
        open.last = stamp;
        open.after = hit.sortKey;
        exported += 1;
      }
      if (open) {
        await open.writer.write(pending);
        pending = [];
        await commit(open);
      }
      progress.update(exported);
    }
    if (open) {
      await finish(open);
      open = null;
    }
  } catch (err) {
    await open?.writer.abort();
    throw err;
  } finally {
    progress.stop();
  }
}
