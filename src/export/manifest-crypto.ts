import { createHash, createHmac, createPrivateKey, createPublicKey, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SlackAuditError } from '../errors.js';
import { registerSecret } from '../observe/secrets.js';
import type { ManifestSignature } from './types.js';

/**
 * Hash chain and manifest signatures. Everything here is a pure function of bytes, so a third party can
 * re-implement the checks from the definitions below without our code:
 *  - chain: chain_0 = CHAIN_GENESIS; chain_i = hex(SHA-256(utf8(chain_{i-1} + sha256_i + name_i))), where
 *    chain_{i-1} and sha256_i are lowercase hex strings and name_i is the file name.
 *  - canonical manifest bytes: the manifest as JSON with object keys sorted by UTF-16 code units (JS default
 *    sort), no whitespace, JSON.stringify escaping, UTF-8. Signatures (HMAC-SHA256 or Ed25519) cover exactly
 *    these bytes and live in manifest.sig.json, so manifest.json itself can be pretty-printed.
 */
export const CHAIN_GENESIS = '0'.repeat(64);
export const CHAIN_DEFINITION = 'chain_0 = 64 x "0"; chain_i = hex(SHA-256(utf8(chain_{i-1} + sha256_i + name_i)))';

export function chainStep(previous: string, fileSha256: string, name: string): string {
  return createHash('sha256').update(previous + fileSha256 + name, 'utf8').digest('hex');
}

export function computeChain(files: ReadonlyArray<{ name: string; sha256: string }>): string[] {
  const out: string[] = [];
  let prev = CHAIN_GENESIS;
  for (const f of files) {
    prev = chainStep(prev, f.sha256, f.name);
    out.push(prev);
  }
  return out;
}

/** Recursively sort object keys; arrays keep their order. */
export function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) {
      const v = obj[k];
      if (v !== undefined) out[k] = sortKeysDeep(v);
    }
    return out;
  }
  return value;
}

export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeysDeep(value));
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---- keys ---------------------------------------------------------------------------------------------

function readKeyFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/** An HMAC key file holds the key as text; surrounding whitespace (a trailing newline) is not part of it. */
export function loadHmacKey(path: string): Buffer {
  const text = readKeyFile(path, 'HMAC key file').toString('utf8').trim();
  if (text.length < 16) throw new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', `HMAC key in ${path} is too short (need at least 16 characters)`);
  registerSecret(text);
  return Buffer.from(text, 'utf8');
}

export function loadEd25519PrivateKey(path: string): KeyObject {
  try {
    const key = createPrivateKey(readKeyFile(path, 'Ed25519 private key file'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
    return key;
  } catch (err) {
    if (err instanceof SlackAuditError) throw err;
    throw new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', `${path} is not a PEM Ed25519 private key: ${(err as Error).message}`, { cause: err });
  }
}

/** Accepts a public key PEM, or a private key PEM (the public half is derived). */
export function loadEd25519PublicKey(path: string): KeyObject {
  try {
    const key = createPublicKey(readKeyFile(path, 'Ed25519 public key file'));
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${key.asymmetricKeyType ?? 'unknown'}, not ed25519`);
    return key;
  } catch (err) {
    if (err instanceof SlackAuditError) throw err;
    throw new SlackAuditError('SLACK_AUDIT_EXPORT_INVALID', `${path} is not a PEM Ed25519 key: ${(err as Error).message}`, { cause: err });
  }
}

export function ed25519KeyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(pub.export({ type: 'spki', format: 'der' }));
}

// ---- sign / verify ------------------------------------------------------------------------------------

export interface SigningKeys {
  hmacKey?: Buffer | undefined;
  ed25519PrivateKey?: KeyObject | undefined;
}

export function signManifestBytes(bytes: Buffer, keys: SigningKeys): ManifestSignature[] {
  const out: ManifestSignature[] = [];
  if (keys.hmacKey) out.push({ algorithm: 'hmac-sha256', key_id: null, value: createHmac('sha256', keys.hmacKey).update(bytes).digest('base64') });
  if (keys.ed25519PrivateKey) {
    out.push({ algorithm: 'ed25519', key_id: ed25519KeyId(keys.ed25519PrivateKey), value: sign(null, bytes, keys.ed25519PrivateKey).toString('base64') });
  }
  return out;
}

export function verifyHmac(bytes: Buffer, key: Buffer, signatureB64: string): boolean {
  const expected = createHmac('sha256', key).update(bytes).digest();
  const given = Buffer.from(signatureB64, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function verifyEd25519(bytes: Buffer, publicKey: KeyObject, signatureB64: string): boolean {
  try {
    return verify(null, bytes, publicKey, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}
