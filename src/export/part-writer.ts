import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, type Gzip } from 'node:zlib';

/**
 * Writes one data file and hashes exactly the bytes that reach the disk.
 *
 * Plain files are written with a FileHandle: when `write()` resolves, the bytes are in the kernel, so the
 * caller can record a resume checkpoint (size + prefix hash) that survives a kill -9. Gzip files go through
 * zlib, whose output is only final at the end; a partial .gz is therefore restarted, not truncated, on resume.
 * `write()` resolving is the backpressure: callers await it before reading more from Elasticsearch.
 */
export interface PartWriter {
  readonly path: string;
  write(chunks: readonly Buffer[]): Promise<void>;
  /** Bytes on disk so far (plain files only; gzip reports its final size at close). */
  bytesWritten(): number;
  /** SHA-256 of the bytes written so far without finishing the hash (plain files only). */
  prefixSha256(): string;
  close(): Promise<{ bytes: number; sha256: string }>;
  /** Close without caring about the result (error paths). */
  abort(): Promise<void>;
}

class PlainPartWriter implements PartWriter {
  private bytes: number;
  private closed = false;
  constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    startBytes: number,
  ) {
    this.bytes = startBytes;
  }

  async write(chunks: readonly Buffer[]): Promise<void> {
    if (chunks.length === 0) return;
    const buf = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await this.fh.write(buf, off, buf.length - off, this.bytes + off);
      off += bytesWritten;
    }
    this.hash.update(buf);
    this.bytes += buf.length;
  }

  bytesWritten(): number {
    return this.bytes;
  }

  prefixSha256(): string {
    return this.hash.copy().digest('hex');
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    this.closed = true;
    await this.fh.sync();
    await this.fh.close();
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => undefined);
  }
}

class GzipPartWriter implements PartWriter {
  private readonly gzip: Gzip;
  private readonly done: Promise<void>;
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private failure: Error | undefined = undefined;

  constructor(readonly path: string) {
    // Fixed level and no explicit flushes: zlib's output is then a function of the input bytes alone, so a
    // restarted file comes out byte-identical.
    this.gzip = createGzip({ level: 6 });
    const tap = new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.hash.update(chunk);
        this.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    this.done = pipeline(this.gzip, tap, createWriteStream(path, { flags: 'w' }));
    this.done.catch((err: unknown) => {
      this.failure = err instanceof Error ? err : new Error(String(err));
    });
  }

  async write(chunks: readonly Buffer[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    for (const c of chunks) {
      if (!this.gzip.write(c)) await Promise.race([once(this.gzip, 'drain'), this.done]);
    }
  }

  bytesWritten(): number {
    return this.bytes;
  }

  prefixSha256(): string {
    return this.hash.copy().digest('hex');
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    this.gzip.end();
    await this.done;
    const fh = await open(this.path, 'r+');
    await fh.sync();
    await fh.close();
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => undefined);
  }
}

export async function createPartWriter(path: string, gzip: boolean): Promise<PartWriter> {
  if (gzip) return new GzipPartWriter(path);
  const fh = await open(path, 'w');
  return new PlainPartWriter(path, fh, createHash('sha256'), 0);
}

/** Hash the first `bytes` bytes of a file (the committed prefix of a plain part). */
export async function hashPrefix(path: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  for await (const chunk of createReadStream(path, { start: 0, end: bytes - 1 })) hash.update(chunk as Buffer);
  return hash;
}

/**
 * Re-open a plain part for appending after an interruption: cut it back to the committed prefix and continue
 * its hash. Returns null when the file is shorter than the checkpoint or its prefix does not hash to the
 * recorded value (the bytes never reached the disk); the caller then rewrites the file from its start.
 */
export async function reopenPlainPart(path: string, committedBytes: number, committedSha256: string): Promise<PartWriter | null> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r+');
  } catch {
    return null;
  }
  const { size } = await fh.stat();
  if (size < committedBytes) {
    await fh.close();
    return null;
  }
  const hash = await hashPrefix(path, committedBytes);
  if (hash.copy().digest('hex') !== committedSha256) {
    await fh.close();
    return null;
  }
  await fh.truncate(committedBytes);
  return new PlainPartWriter(path, fh, hash, committedBytes);
}

/** SHA-256 and size of a whole file, streamed. */
export async function hashFile(path: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
