import type { ParsedSignature } from './signature-headers.js';
import { GRPC_SIGNING_PROFILE } from './signing-profile.js';
import { SIGNATURE_ALGORITHM, SIGNATURE_LABEL } from './signing.constants.js';

/**
 * The metadata key of a signed gRPC call's single signature entry. One entry rather than the
 * three RFC 9421 headers, because every metadata entry costs the client and the server a
 * header of their own on every call; the signature base it stands for is the same.
 */
export const CALL_SIGNATURE_METADATA = 'x-mesh-signature';

/** What a call signature entry carries: the signature parameters and the MAC. */
export interface CallSignatureFields {
  /** The session id. */
  readonly keyid: string;
  /** Creation time (s since the epoch). */
  readonly created: number;
  /** One-time value: 16 to 128 base64url characters (`A-Z a-z 0-9 - _`). */
  readonly nonce: string;
  /** The 32-byte hmac-sha256. */
  readonly signature: Buffer;
}

// The character sets of the keyid and the nonce, shared by the entry and the signer's checks:
// neither needs escaping inside the quoted strings of the signature parameters.
const KEYID = '[0-9A-Za-z-]{1,64}';
const NONCE = '[0-9A-Za-z_-]{16,128}';

// Fixed order, no optional parts: one regular expression reads it, and anything else is
// malformed. The keyid is checked as a session id by the store read that follows.
const ENTRY = new RegExp(
  `^keyid=(${KEYID});created=(0|[1-9][0-9]{0,14});nonce=(${NONCE});sig=([0-9A-Za-z+/]{43}=)$`,
);

/** Longest entry {@link ENTRY} accepts, checked first so that nothing longer is scanned. */
export const CALL_SIGNATURE_MAX_LENGTH = 6 + 64 + 9 + 15 + 7 + 128 + 5 + 44;

/** What a keyid may hold in a call signature entry (a session id is a UUID). */
export const CALL_KEYID = new RegExp(`^${KEYID}$`);

/** What a nonce may hold in a call signature entry. */
export const CALL_NONCE = new RegExp(`^${NONCE}$`);

/**
 * The `@signature-params` value a call signature entry stands for: the gRPC profile's two
 * components with `created`, `nonce`, `keyid` and `alg`, as `signGrpcCall` serialises them.
 *
 * @param created creation time (s)
 * @param nonce the nonce (base64url characters: nothing to escape)
 * @param keyid the session id (letters, digits and `-`: nothing to escape)
 * @returns the serialised inner list with its parameters
 * @example
 * ```ts
 * callSignatureParams(1767225600, 'n8Xk2QeZ7rVb1sLmPq4TcA', sessionId);
 * // '("@path" "content-digest");created=1767225600;nonce="n8Xk2QeZ7rVb1sLmPq4TcA";keyid="…";alg="hmac-sha256"'
 * ```
 */
export function callSignatureParams(created: number, nonce: string, keyid: string): string {
  return `("@path" "content-digest");created=${created};nonce="${nonce}";keyid="${keyid}";alg="${SIGNATURE_ALGORITHM}"`;
}

/**
 * Writes a call signature entry.
 *
 * @param fields the parameters and the MAC
 * @returns for example `keyid=3b24…a962;created=1767225600;nonce=n8Xk…TcA;sig=M5xH…3Uo=`
 * @example
 * ```ts
 * metadata.set(CALL_SIGNATURE_METADATA, formatCallSignature({ keyid, created, nonce, signature }));
 * ```
 */
export function formatCallSignature(fields: CallSignatureFields): string {
  return `keyid=${fields.keyid};created=${fields.created};nonce=${fields.nonce};sig=${fields.signature.toString('base64')}`;
}

/**
 * Reads a call signature entry strictly: the four fields in this order, each in its character
 * set and length, nothing before, between or after them.
 *
 * @param value the entry as received
 * @returns the signature as the verifier takes it, or `undefined` when the entry is malformed
 * @example
 * ```ts
 * const parsed = parseCallSignature(String(metadata.get('x-mesh-signature')[0]));
 * ```
 */
export function parseCallSignature(value: string): ParsedSignature | undefined {
  if (value.length > CALL_SIGNATURE_MAX_LENGTH) return undefined;
  const match = ENTRY.exec(value);
  if (match === null) return undefined;
  const [, keyid, createdText, nonce, mac] = match;
  const created = Number(createdText);
  return {
    label: SIGNATURE_LABEL,
    components: GRPC_SIGNING_PROFILE.required,
    params: { created, nonce, keyid, alg: SIGNATURE_ALGORITHM },
    signatureParams: callSignatureParams(created, nonce, keyid),
    signature: mac,
  };
}
