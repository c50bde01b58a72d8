import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson, chainStep, CHAIN_GENESIS, computeChain, signManifestBytes, verifyEd25519, verifyHmac } from '../../src/export/manifest-crypto.js';

describe('manifest hash chain and signatures', () => {
  it('chains file hashes as documented: SHA-256(prev + sha256 + name)', () => {
    const files = [
      { name: 'part-00001.ndjson', sha256: 'a'.repeat(64) },
      { name: 'part-00002.ndjson', sha256: 'b'.repeat(64) },
    ];
    const c1 = createHash('sha256').update(`${CHAIN_GENESIS}${'a'.repeat(64)}part-00001.ndjson`).digest('hex');
    const c2 = createHash('sha256').update(`${c1}${'b'.repeat(64)}part-00002.ndjson`).digest('hex');
    expect(computeChain(files)).toEqual([c1, c2]);
    expect(chainStep(c1, 'b'.repeat(64), 'part-00002.ndjson')).toBe(c2);
    // Order matters: swapping files changes the head.
    expect(computeChain([...files].reverse())[1]).not.toBe(c2);
  });

  it('canonical JSON sorts keys recursively and ignores whitespace and key order of the input', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
    expect(canonicalJson(JSON.parse('{ "y": 1,\n "x": 2 }'))).toBe(canonicalJson({ x: 2, y: 1 }));
  });

  it('HMAC and Ed25519 signatures verify with the right key only, and break when one byte changes', () => {
    const bytes = Buffer.from(canonicalJson({ files: [], total_records: 0 }));
    const hmacKey = Buffer.from('0123456789abcdef0123');
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const other = generateKeyPairSync('ed25519');
    const sigs = signManifestBytes(bytes, { hmacKey, ed25519PrivateKey: privateKey });
    const hmac = sigs.find((s) => s.algorithm === 'hmac-sha256')?.value ?? '';
    const ed = sigs.find((s) => s.algorithm === 'ed25519')?.value ?? '';
    expect(verifyHmac(bytes, hmacKey, hmac)).toBe(true);
    expect(verifyHmac(bytes, Buffer.from('another key, same length'), hmac)).toBe(false);
    expect(verifyEd25519(bytes, publicKey, ed)).toBe(true);
    expect(verifyEd25519(bytes, other.publicKey, ed)).toBe(false);
    const changed = Buffer.from(bytes);
    changed[2] = (changed[2] ?? 0) ^ 1;
    expect(verifyHmac(changed, hmacKey, hmac)).toBe(false);
    expect(verifyEd25519(changed, publicKey, ed)).toBe(false);
    expect(verifyEd25519(bytes, publicKey, 'not base64 at all')).toBe(false);
  });
});
