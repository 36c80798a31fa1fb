import { HEX_DIGIT_VALUE } from '../../core/session-id.js';

/**
 * Reads a lower-case UUID (8-4-4-4-12 hex digits) as its 128 bits, in four 32-bit words: the
 * id table keys sessions by these words, not by the string.
 *
 * @param id any string
 * @param words where the four words go (left unchanged when `id` is not a lower-case UUID)
 * @returns `false` for anything but a lower-case UUID
 * @example
 * ```ts
 * const words = new Int32Array(4);
 * readUuidWords(randomUUID(), words); // true
 * readUuidWords('custom-id', words); // false
 * ```
 */
export function readUuidWords(id: string, words: Int32Array): boolean {
  if (
    id.length !== 36 ||
    id.charCodeAt(8) !== 45 ||
    id.charCodeAt(13) !== 45 ||
    id.charCodeAt(18) !== 45 ||
    id.charCodeAt(23) !== 45
  ) {
    return false;
  }
  const w0 = hexWord(id, 0, 4);
  const w1 = hexWord(id, 9, 14);
  const w2 = hexWord(id, 19, 24);
  const w3 = hexWord(id, 28, 32);
  // hexWord gives NaN for a non-hex digit.
  if (w0 !== w0 || w1 !== w1 || w2 !== w2 || w3 !== w3) return false;
  words[0] = w0;
  words[1] = w1;
  words[2] = w2;
  words[3] = w3;
  return true;
}

/**
 * The 32-bit value of 8 lower-case hex digits: 4 from `first` and 4 from `second` (they are
 * consecutive when `second === first + 4`).
 *
 * @returns the value, or NaN when a character is not a lower-case hex digit
 */
function hexWord(id: string, first: number, second: number): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const code = id.charCodeAt(i < 4 ? first + i : second + i - 4);
    const digit = code < 128 ? HEX_DIGIT_VALUE[code] : -1;
    if (digit < 0) return NaN;
    value = (value << 4) | digit;
  }
  return value;
}
