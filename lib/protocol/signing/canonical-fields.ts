/**
 * A strict reader for the few canonical Structured Fields (RFC 8941) shapes that signed requests
 * carry, so that the usual request skips the general parser and its re-serialisation.
 *
 * It accepts a deliberately small subset of what the general path accepts: a dictionary of
 * exactly one member, in the form `RequestSigner` and `createContentDigest` emit, with no
 * whitespace but the single spaces of an inner list, strings without escapes, integers without
 * sign or leading zero, and byte sequences in padded base64. For any such value the general path
 * (`parseDictionary`, then the canonical check against `serializeDictionary`) gives the same
 * member and values; for anything else this reader returns `undefined` and the caller runs the
 * general path, which alone decides to accept or refuse it. It never refuses anything itself.
 *
 * @internal
 */

/**
 * A dictionary's only member when it is an inner list of parameterless strings: its key, the
 * strings, and the inner list's parameters in order (names unique).
 */
export interface CanonicalInnerList {
  readonly key: string;
  readonly items: readonly string[];
  readonly parameterNames: readonly string[];
  readonly parameterValues: readonly (string | number)[];
}

const SPACE = 0x20;
const QUOTE = 0x22;
const OPEN = 0x28;
const CLOSE = 0x29;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const ZERO = 0x30;
const NINE = 0x39;
const BACKSLASH = 0x5c;
// RFC 8941 integers have at most 15 digits.
const MAX_INTEGER_DIGITS = 15;

/**
 * Reads `key=("a" "b");p=1;q="s"`: one member, an inner list of parameterless strings, with
 * integer or string parameters, each named once.
 *
 * @param value the header value as received
 * @returns the member, with the values the general parser gives, or `undefined` to use the
 *   general path
 * @example
 * ```ts
 * readCanonicalInnerList('mesh=("@method");created=1;nonce="n"');
 * // { key: 'mesh', items: ['@method'], parameterNames: ['created', 'nonce'], parameterValues: [1, 'n'] }
 * readCanonicalInnerList('mesh=("@method");created=01'); // undefined: not canonical
 * ```
 * @internal
 */
export function readCanonicalInnerList(value: string): CanonicalInnerList | undefined {
  const keyEnd = endOfKey(value, 0);
  if (
    keyEnd === 0 ||
    value.charCodeAt(keyEnd) !== EQUALS ||
    value.charCodeAt(keyEnd + 1) !== OPEN
  ) {
    return undefined;
  }
  const items: string[] = [];
  let pos = keyEnd + 2;
  if (value.charCodeAt(pos) !== CLOSE) {
    for (;;) {
      if (value.charCodeAt(pos) !== QUOTE) return undefined;
      const end = endOfString(value, pos + 1);
      if (end < 0) return undefined;
      items.push(value.slice(pos + 1, end));
      pos = end + 1;
      const next = value.charCodeAt(pos);
      if (next === CLOSE) break;
      if (next !== SPACE) return undefined;
      pos++;
    }
  }
  const parameterNames: string[] = [];
  const parameterValues: (string | number)[] = [];
  if (!readParameters(value, pos + 1, parameterNames, parameterValues)) return undefined;
  return { key: value.slice(0, keyEnd), items, parameterNames, parameterValues };
}

/**
 * Reads `key=:base64:`: one member, a parameterless byte sequence in canonical (padded) base64.
 * The bytes stay as that text, which stands for exactly them: the caller decodes them where it
 * compares them, so that reading a header makes no Buffer.
 *
 * @param value the header value as received
 * @returns the key and the base64 text, or `undefined` to use the general path
 * @example
 * ```ts
 * readCanonicalByteSequence('sha-256=:AAAA:'); // { key: 'sha-256', base64: 'AAAA' }
 * readCanonicalByteSequence('sha-256=:AAA:'); // undefined: unpadded
 * ```
 * @internal
 */
export function readCanonicalByteSequence(
  value: string,
): { readonly key: string; readonly base64: string } | undefined {
  const keyEnd = endOfKey(value, 0);
  const last = value.length - 1;
  if (
    keyEnd === 0 ||
    value.charCodeAt(keyEnd) !== EQUALS ||
    value.charCodeAt(keyEnd + 1) !== COLON ||
    value.charCodeAt(last) !== COLON ||
    last < keyEnd + 2
  ) {
    return undefined;
  }
  return isCanonicalBase64(value, keyEnd + 2, last)
    ? { key: value.slice(0, keyEnd), base64: value.slice(keyEnd + 2, last) }
    : undefined;
}

/** Each ASCII character's 6-bit value in standard base64, or -1. */
const SEXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  SEXTETS['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}

/**
 * Whether `value` from `start` to `end` is base64 as RFC 8941 serialises a byte sequence: the
 * standard alphabet, padded with `=` to a multiple of four characters, and no bit set past the
 * last byte. That is the one text whose bytes encode back to it; Buffer's decoder is laxer (it
 * skips what is not base64 and takes base64url too), so the text is checked before anything
 * decodes it.
 */
function isCanonicalBase64(value: string, start: number, end: number): boolean {
  if ((end - start) % 4 !== 0) return false;
  let data = end;
  if (end > start && value.charCodeAt(end - 1) === EQUALS) {
    data = value.charCodeAt(end - 2) === EQUALS ? end - 2 : end - 1;
  }
  let last = 0;
  for (let i = start; i < data; i++) {
    const c = value.charCodeAt(i);
    last = c < 0x80 ? (SEXTETS[c] as number) : -1;
    if (last < 0) return false;
  }
  // Before one `=`, the last character holds 2 bits past the bytes; before two, 4.
  return data === end || (last & (end - data === 1 ? 0x03 : 0x0f)) === 0;
}

/**
 * Reads the parameters from `pos` to the end of `value` into `names` and `values`.
 *
 * @returns `false` outside the canonical subset
 */
function readParameters(
  value: string,
  pos: number,
  names: string[],
  values: (string | number)[],
): boolean {
  while (pos < value.length) {
    if (value.charCodeAt(pos) !== SEMICOLON) return false;
    const keyEnd = endOfKey(value, pos + 1);
    if (keyEnd === pos + 1 || value.charCodeAt(keyEnd) !== EQUALS) return false;
    const key = value.slice(pos + 1, keyEnd);
    // A repeated parameter is not canonical: the general path refuses it.
    if (names.includes(key)) return false;
    pos = keyEnd + 1;
    const first = value.charCodeAt(pos);
    if (first === QUOTE) {
      const end = endOfString(value, pos + 1);
      if (end < 0) return false;
      names.push(key);
      values.push(value.slice(pos + 1, end));
      pos = end + 1;
    } else if (isDigit(first)) {
      let end = pos + 1;
      while (end < value.length && isDigit(value.charCodeAt(end))) end++;
      // A leading zero is not canonical; more digits than RFC 8941 allows are refused there.
      if (end - pos > MAX_INTEGER_DIGITS || (first === ZERO && end - pos > 1)) return false;
      names.push(key);
      values.push(Number(value.slice(pos, end)));
      pos = end;
    } else {
      return false;
    }
  }
  return true;
}

/**
 * The end of the key that starts at `pos` (RFC 8941 §3.1.2: `lcalpha / "*"`, then `lcalpha /
 * DIGIT / "_" / "-" / "." / "*"`), or `pos` when there is none.
 */
function endOfKey(value: string, pos: number): number {
  const first = value.charCodeAt(pos);
  if (!((first >= 0x61 && first <= 0x7a) || first === 0x2a)) return pos;
  let end = pos + 1;
  for (; end < value.length; end++) {
    const c = value.charCodeAt(end);
    if (!(
      (c >= 0x61 && c <= 0x7a) ||
      isDigit(c) ||
      c === 0x5f || // _
      c === 0x2d || // -
      c === 0x2e || // .
      c === 0x2a // *
    )) {
      break;
    }
  }
  return end;
}

/**
 * The index of the quote that closes the string whose content starts at `pos`, or -1 for an
 * escape, a character outside visible ASCII and space, or no closing quote.
 */
function endOfString(value: string, pos: number): number {
  for (let i = pos; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === QUOTE) return i;
    if (c === BACKSLASH || c < SPACE || c > 0x7e) return -1;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}
