import { z } from 'zod';

/**
 * Shapes of the files an export leaves on disk: `manifest.json`, `manifest.sig.json` and the resume state
 * `.export-state.json`. They are read back by `verify` and `--resume`, so they are zod schemas (boundary
 * parsing), not bare interfaces. Field names are snake_case because auditors read these files directly.
 */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig.json';
export const STATE_FILE = '.export-state.json';
/** Data files are `part-00001.ndjson`, `part-00002.csv.gz`, ...; the manifest lists their order. */
export const PART_FILE_RE = /^part-\d{5,}\.(?:ndjson|csv)(?:\.gz)?$/;

/** Sort position of one record: [@timestamp formatted by ES with nanosecond precision, event.id]. */
export const sortKeySchema = z.tuple([z.string(), z.string()]);
export type SortKey = z.infer<typeof sortKeySchema>;

/** The filter as recorded in the manifest: everything that decides which records are exported. */
export const exportQuerySchema = z.object({
  namespace: z.string(),
  /** ISO-8601, inclusive. */
  from: z.string(),
  /** ISO-8601, exclusive. */
  to: z.string(),
  source: z.string().nullable(),
  actions: z.array(z.string()).nullable(),
  actor: z.string().nullable(),
  /** Extra ES query DSL (from --query), ANDed with the filters above. */
  query: z.record(z.string(), z.unknown()).nullable(),
});
export type ExportQuery = z.infer<typeof exportQuerySchema>;

/** Layout parameters: together with the query they decide every byte of the data files. */
export const exportLayoutSchema = z.object({
  format: z.enum(EXPORT_FORMATS),
  gzip: z.boolean(),
  /** Upper bound of the uncompressed bytes of one data file (a single larger record still gets its own file). */
  max_file_bytes: z.number().int().positive(),
});
export type ExportLayout = z.infer<typeof exportLayoutSchema>;

export const fileEntrySchema = z.object({
  name: z.string(),
  records: z.number().int().nonnegative(),
  /** Bytes on disk (compressed size for .gz). */
  bytes: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the bytes on disk. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  first_timestamp: z.string(),
  last_timestamp: z.string(),
  /** chain_i = SHA-256(utf8(chain_{i-1} + sha256_i + name_i)), hex; chain_0 is CHAIN_GENESIS. */
  chain: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileEntry = z.infer<typeof fileEntrySchema>;

export const sourceCompletenessSchema = z.object({
  source_id: z.string(),
  status: z.enum(['complete', 'incomplete', 'unknown']),
  /** Collected-and-queued range reported by the collector, ISO (null when nothing was collected). */
  collected_from: z.string().nullable(),
  collected_to: z.string().nullable(),
  pending_ingest_jobs: z.number().int().nonnegative().nullable(),
  /** Parts of the requested range not (yet) collected, ISO, both ends inclusive to the second. */
  missing: z.array(z.object({ from: z.string(), to: z.string() })),
  statement: z.string(),
});
export type SourceCompleteness = z.infer<typeof sourceCompletenessSchema>;

export const completenessSchema = z.object({
  status: z.enum(['complete', 'incomplete', 'unknown']),
  statement: z.string(),
  sources: z.array(sourceCompletenessSchema),
});
export type Completeness = z.infer<typeof completenessSchema>;

export const manifestSchema = z.object({
  manifest_version: z.literal(1),
  tool: z.object({ name: z.string(), version: z.string() }),
  /** The only time-dependent field; it is not part of any data file or file hash. */
  exported_at: z.string(),
  query: exportQuerySchema,
  layout: exportLayoutSchema,
  sort: z.array(z.string()),
  elasticsearch: z.object({
    cluster_name: z.string().nullable(),
    cluster_uuid: z.string().nullable(),
    target: z.string(),
    indices: z.array(z.string()),
  }),
  files: z.array(fileEntrySchema),
  total_records: z.number().int().nonnegative(),
  /** hits.total of the same query in the point-in-time the export read (must equal total_records). */
  es_count: z.number().int().nonnegative(),
  chain: z.object({ algorithm: z.literal('sha256'), genesis: z.string(), head: z.string(), definition: z.string() }),
  completeness: completenessSchema,
  /** How many times the export was resumed after an interruption (0 for an uninterrupted run). */
  resumes: z.number().int().nonnegative(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export const signatureSchema = z.object({
  algorithm: z.enum(['hmac-sha256', 'ed25519']),
  /** ed25519: SHA-256 (hex) of the DER SubjectPublicKeyInfo; hmac: null (a key fingerprint would help guessing). */
  key_id: z.string().nullable(),
  /** base64 */
  value: z.string(),
});
export type ManifestSignature = z.infer<typeof signatureSchema>;

export const signatureFileSchema = z.object({
  signed_file: z.literal(MANIFEST_FILE),
  canonicalization: z.literal('slack-audit-canonical-json-v1'),
  /** SHA-256 (hex) of the canonical manifest bytes that were signed. */
  manifest_sha256: z.string(),
  signatures: z.array(signatureSchema),
});
export type SignatureFile = z.infer<typeof signatureFileSchema>;

/** Resume state: what is safely on disk, and where to continue. Removed when the manifest is written. */
export const exportStateSchema = z.object({
  v: z.literal(1),
  query: exportQuerySchema,
  layout: exportLayoutSchema,
  /** Files closed, flushed and hashed, in order (chain not yet computed). */
  files: z.array(fileEntrySchema.omit({ chain: true })),
  /** Position after the last record of the completed files (null: none yet). */
  after: sortKeySchema.nullable(),
  current: z
    .object({
      name: z.string(),
      /** Position before this file's first record (null: the export's very first record). */
      start_after: sortKeySchema.nullable(),
      /** Prefix of the file known to be written: bytes, records and the position after its last record. */
      committed: z.object({
        bytes: z.number().int().nonnegative(),
        content_bytes: z.number().int().nonnegative(),
        records: z.number().int().nonnegative(),
        prefix_sha256: z.string(),
        after: sortKeySchema.nullable(),
        first_timestamp: z.string().nullable(),
        last_timestamp: z.string().nullable(),
      }),
    })
    .nullable(),
  /** All records written; only the manifest is missing. */
  done: z.boolean(),
  resumes: z.number().int().nonnegative(),
});
export type ExportState = z.infer<typeof exportStateSchema>;
