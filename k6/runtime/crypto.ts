// node:crypto as a journey bundled into a k6 script sees it: createHash and createHmac, on k6/crypto.
import { createHash as k6Hash, createHMAC, type Algorithm, type Hasher } from 'k6/crypto';

/** A hash as a journey chains it in Node.js: update(…), then digest('hex' or 'base64'). */
export interface Hash {
  update(data: string): Hash;
  digest(encoding: 'hex' | 'base64'): string;
}

function chained(h: Hasher): Hash {
  const self: Hash = { update: (data) => (h.update(data), self), digest: (encoding) => h.digest(encoding) };
  return self;
}

export const createHash = (algorithm: Algorithm): Hash => chained(k6Hash(algorithm));
export const createHmac = (algorithm: Algorithm, key: string): Hash => chained(createHMAC(algorithm, key));
