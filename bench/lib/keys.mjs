// 32-byte session keys for the benchmarks, each a Buffer over an ArrayBuffer of its own (as a key
// derived in a handshake is: about 216 bytes of heap each), cut from one randomBytes() call per
// 4,096 keys instead of one getrandom system call per key.
import { randomBytes } from 'node:crypto';

const BATCH = 4_096;
let pool = randomBytes(32 * BATCH);
let next = 0;

/** A fresh random 32-byte key with its own ArrayBuffer. */
export function newSessionKey() {
  if (next === BATCH) {
    pool = randomBytes(32 * BATCH);
    next = 0;
  }
  const start = 32 * next++;
  return Buffer.from(pool.buffer.slice(pool.byteOffset + start, pool.byteOffset + start + 32));
}
