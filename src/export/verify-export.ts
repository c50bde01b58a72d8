import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { z } from 'zod';
import { SlackAuditError } from '../errors.js';
import { canonicalBytes, computeChain, CHAIN_GENESIS, sha256Hex, verifyEd25519, verifyHmac } from './manifest-crypto.js';
import { csvHeader } from './records.js';
import { readManifest } from './run-export.js';
import { MANIFEST_FILE, PART_FILE_RE, SIGNATURE_FILE, signatureFileSchema, type ExportFormat, type Manifest } from './types.js';

/**
 * `export verify`: everything is re-derived from the bytes on disk. Per file (in manifest order): size and
 * SHA-256, then the records are re-counted (NDJSON: every line must be a JSON object; CSV: RFC 4180 records
 * after the header) and the first/last @timestamp compared. Then the hash chain, the totals, stray files,
 * and the signature when a key is given. The first problem's file is named in the summary.
 */

export interface VerifyKeys {
  hmacKey?: Buffer | undefined;
  ed25519PublicKey?: KeyObject | undefined;
}

export interface VerifyProblem {
  /** A data file name, or manifest.json / manifest.sig.json. */
  file: string;
  reason: string;
}

export type SignatureStatus = 'valid' | 'invalid' | 'absent' | 'not-checked';

export interface VerifyReport {
  ok: boolean;
  dir: string;
  files: number;
  records: number;
  chainHead: string;
  signature: SignatureStatus;
  signatureAlgorithms: string[];
  problems: VerifyProblem[];
  /** The first file (in manifest order) that does not match, or null. */
  firstBadFile: string | null;
  summary: string;
}

export interface ScanResult {
  records: number;
  first: string | null;
  last: string | null;
  /** First malformed record, 1-based, with the reason. */
  malformed: string | null;
}

const ndjsonRecordSchema = z.object({ ecs: z.record(z.string(), z.unknown()), original: z.unknown() }).loose();

/** Counts records in decompressed export content and keeps the first/last timestamp. */
export class RecordScanner {
  private readonly csv: boolean;
  private lineParts: Buffer[] = [];
  private inQuotes = false;
  private firstField: number[] = [];
  private fieldDone = false;
  private headerSeen = false;
  private headerBytes: number[] = [];
  private sawBytes = false;
  private lastByte = -1;
  readonly result: ScanResult = { records: 0, first: null, last: null, malformed: null };

  constructor(format: ExportFormat) {
    this.csv = format === 'csv';
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.sawBytes = true;
    this.lastByte = chunk[chunk.length - 1] ?? -1;
    if (this.csv) this.pushCsv(chunk);
    else this.pushNdjson(chunk);
  }

  end(): ScanResult {
    if (this.sawBytes && this.lastByte !== 0x0a) this.fail('the file does not end with a complete record (no final newline)');
    if (this.csv && !this.headerSeen) this.fail('the CSV header row is missing');
    return this.result;
  }

  private fail(reason: string): void {
    this.result.malformed ??= `record ${this.result.records + 1}: ${reason}`;
  }

  private record(ts: string | null): void {
    this.result.records += 1;
    if (ts !== null) {
      this.result.first ??= ts;
      this.result.last = ts;
    }
  }

  private pushNdjson(chunk: Buffer): void {
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, start)) {
      this.lineParts.push(chunk.subarray(start, i));
      const line = Buffer.concat(this.lineParts).toString('utf8');
      this.lineParts = [];
      start = i + 1;
      let ts: string | null = null;
      try {
        const parsed = ndjsonRecordSchema.safeParse(JSON.parse(line));
        if (!parsed.success) this.fail('not an export record ({"ecs": ..., "original": ...})');
        else {
          const t = parsed.data.ecs['@timestamp'];
          ts = typeof t === 'string' ? t : null;
        }
      } catch {
        this.fail('not valid JSON');
      }
      this.record(ts);
    }
    if (start < chunk.length) this.lineParts.push(chunk.subarray(start));
  }

  private pushCsv(chunk: Buffer): void {
    // '"', ',' and '\n' are ASCII and never occur inside a multi-byte UTF-8 sequence, so bytes are enough.
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (!this.headerSeen) {
        if (b === 0x22) this.inQuotes = !this.inQuotes;
        if (b === 0x0a && !this.inQuotes) {
          if (`${Buffer.from(this.headerBytes).toString('utf8')}\n` !== csvHeader()) this.fail('the CSV header row differs from the documented columns');
          this.headerSeen = true;
          this.headerBytes = [];
        } else if (this.headerBytes.length < 4096) this.headerBytes.push(b);
        continue;
      }
      if (b === 0x22) this.inQuotes = !this.inQuotes;
      if (!this.inQuotes) {
        if (b === 0x0a) {
          this.record(this.firstField.length > 0 ? Buffer.from(this.firstField).toString('utf8') : null);
          this.firstField = [];
          this.fieldDone = false;
          continue;
        }
        if (b === 0x2c) this.fieldDone = true;
      }
      if (!this.fieldDone && b !== 0x22 && this.firstField.length < 64) this.firstField.push(b);
    }
  }
}

async function scanFile(path: string, format: ExportFormat, gzip: boolean): Promise<{ bytes: number; sha256: string; scan: ScanResult | null; scanError: string | null }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const scanner = new RecordScanner(format);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      scanner.push(chunk);
      cb();
    },
  });
  let scanError: string | null = null;
  try {
    if (gzip) await pipeline(createReadStream(path), tap, createGunzip(), sink);
    else await pipeline(createReadStream(path), tap, sink);
  } catch (err) {
    scanError = `cannot read records: ${(err as Error).message}`;
    // Finish hashing the raw bytes so the hash comparison still reports the right thing.
    if (gzip) {
      const again = createHash('sha256');
      let n = 0;
      for await (const c of createReadStream(path)) {
        again.update(c as Buffer);
        n += (c as Buffer).length;
      }
      return { bytes: n, sha256: again.digest('hex'), scan: null, scanError };
    }
  }
  return { bytes, sha256: hash.digest('hex'), scan: scanError ? null : scanner.end(), scanError };
}

function checkSignature(dir: string, manifestRaw: unknown, keys: VerifyKeys, problems: VerifyProblem[]): { status: SignatureStatus; algorithms: string[] } {
  const sigPath = join(dir, SIGNATURE_FILE);
  const wanted = keys.hmacKey !== undefined || keys.ed25519PublicKey !== undefined;
  if (!existsSync(sigPath)) {
    if (wanted) {
      problems.push({ file: SIGNATURE_FILE, reason: 'a key was given but the export has no manifest.sig.json' });
      return { status: 'invalid', algorithms: [] };
    }
    return { status: 'absent', algorithms: [] };
  }
  let parsed;
  try {
    parsed = signatureFileSchema.safeParse(JSON.parse(readFileSync(sigPath, 'utf8')));
  } catch {
    parsed = null;
  }
  if (!parsed?.success) {
    problems.push({ file: SIGNATURE_FILE, reason: 'not a slack-audit signature file' });
    return { status: 'invalid', algorithms: [] };
  }
  const sig = parsed.data;
  const algorithms = sig.signatures.map((s) => s.algorithm);
  if (!wanted) return { status: 'not-checked', algorithms };
  const bytes = canonicalBytes(manifestRaw);
  const check = (alg: 'hmac-sha256' | 'ed25519', verifyOne: (value: string) => boolean): boolean => {
    const entry = sig.signatures.find((s) => s.algorithm === alg);
    if (!entry) {
      problems.push({ file: SIGNATURE_FILE, reason: `a ${alg} key was given but the manifest has no ${alg} signature` });
      return false;
    }
    if (!verifyOne(entry.value)) {
      problems.push({ file: SIGNATURE_FILE, reason: `${alg} signature does not match ${MANIFEST_FILE} with the given key (wrong key, or the manifest was changed)` });
      return false;
    }
    return true;
  };
  const { hmacKey, ed25519PublicKey } = keys;
  let ok = true;
  if (hmacKey) ok = check('hmac-sha256', (v) => verifyHmac(bytes, hmacKey, v)) && ok;
  if (ed25519PublicKey) ok = check('ed25519', (v) => verifyEd25519(bytes, ed25519PublicKey, v)) && ok;
  if (ok && sig.manifest_sha256 !== sha256Hex(bytes)) {
    problems.push({ file: SIGNATURE_FILE, reason: 'manifest_sha256 does not match the canonical manifest bytes' });
    ok = false;
  }
  return { status: ok ? 'valid' : 'invalid', algorithms };
}

export async function verifyExport(dirArg: string, keys: VerifyKeys = {}): Promise<VerifyReport> {
  const dir = resolve(dirArg);
  const manifest: Manifest = readManifest(dir);
  const manifestRaw: unknown = JSON.parse(readFileSync(join(dir, MANIFEST_FILE), 'utf8'));
  const problems: VerifyProblem[] = [];
  const { format, gzip } = manifest.layout;
  let records = 0;

  for (const f of manifest.files) {
    const path = join(dir, f.name);
    if (!existsSync(path)) {
      problems.push({ file: f.name, reason: 'missing' });
      continue;
    }
    const got = await scanFile(path, format, gzip);
    const reasons: string[] = [];
    if (got.sha256 !== f.sha256) reasons.push(`SHA-256 is ${got.sha256}, manifest says ${f.sha256}`);
    if (got.bytes !== f.bytes) reasons.push(`size is ${got.bytes} bytes, manifest says ${f.bytes}`);
    if (got.scanError) reasons.push(got.scanError);
    if (got.scan) {
      records += got.scan.records;
      if (got.scan.records !== f.records) reasons.push(`holds ${got.scan.records} records, manifest says ${f.records}`);
      if (got.scan.malformed) reasons.push(got.scan.malformed);
      if (got.scan.first !== f.first_timestamp || got.scan.last !== f.last_timestamp) {
        reasons.push(`timestamps ${got.scan.first ?? '-'} .. ${got.scan.last ?? '-'} differ from the manifest's ${f.first_timestamp} .. ${f.last_timestamp}`);
      }
    }
    if (reasons.length > 0) problems.push({ file: f.name, reason: reasons.join('; ') });
  }

  const chain = computeChain(manifest.files);
  const head = chain[chain.length - 1] ?? CHAIN_GENESIS;
  manifest.files.forEach((f, i) => {
    if (chain[i] !== f.chain) problems.push({ file: f.name, reason: `hash chain entry ${f.chain} should be ${chain[i] ?? ''} (manifest edited or files reordered)` });
  });
  if (manifest.chain.genesis !== CHAIN_GENESIS || manifest.chain.head !== head) problems.push({ file: MANIFEST_FILE, reason: `chain head ${manifest.chain.head} should be ${head}` });
  const listed = manifest.files.reduce((s, f) => s + f.records, 0);
  if (listed !== manifest.total_records) problems.push({ file: MANIFEST_FILE, reason: `total_records ${manifest.total_records} is not the sum of the files (${listed})` });
  if (manifest.es_count !== manifest.total_records) problems.push({ file: MANIFEST_FILE, reason: `es_count ${manifest.es_count} differs from total_records ${manifest.total_records}` });
  const listedNames = new Set(manifest.files.map((f) => f.name));
  for (const name of (await readdir(dir)).sort()) {
    if (PART_FILE_RE.test(name) && !listedNames.has(name)) problems.push({ file: name, reason: 'data file not listed in the manifest' });
  }
  const sig = checkSignature(dir, manifestRaw, keys, problems);

  const order = new Map(manifest.files.map((f, i) => [f.name, i]));
  const fileProblems = problems.filter((p) => order.has(p.file)).sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0));
  const firstBadFile = fileProblems[0]?.file ?? problems[0]?.file ?? null;
  const ok = problems.length === 0;
  const sigText = sig.status === 'valid' ? `signature valid (${sig.algorithms.join(', ')})` : sig.status === 'not-checked' ? `signature present (${sig.algorithms.join(', ')}) but not checked: no key given` : sig.status === 'absent' ? 'unsigned' : 'signature INVALID';
  const summary = ok
    ? `OK ${dir}: ${manifest.files.length} files, ${records} records, chain head ${head.slice(0, 16)}, ${sigText}, completeness ${manifest.completeness.status}`
    : `FAILED ${dir}: first mismatch in ${firstBadFile ?? '?'}: ${(fileProblems[0] ?? problems[0])?.reason ?? ''}${problems.length > 1 ? ` (+${problems.length - 1} more problem(s))` : ''}`;
  return { ok, dir, files: manifest.files.length, records, chainHead: head, signature: sig.status, signatureAlgorithms: sig.algorithms, problems, firstBadFile, summary };
}

export function verifyFailure(report: VerifyReport): SlackAuditError {
  return new SlackAuditError('SLACK_AUDIT_EXPORT_VERIFY_FAILED', report.summary, { details: { firstBadFile: report.firstBadFile, problems: report.problems } });
}
