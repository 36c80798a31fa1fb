import { SigningMessages } from './signing.messages.js';
import { readCanonicalMembers, readMembers, type SignatureMembers } from './signature-members.js';
import { SignatureVerificationError } from './signature-verification.error.js';
import { HTTP_SIGNING_PROFILE, type SigningProfile } from './signing-profile.js';
import { NONCE_LENGTH, SIGNATURE_ALGORITHM, SIGNATURE_HEADER_LIMITS } from './signing.constants.js';

/** The parameters of a signature (RFC 9421 §2.3), after validation. */
export interface SignatureParameters {
  /** Creation time (s since the epoch). */
  readonly created: number;
  /** One-time value, unique per request within the session. */
  readonly nonce: string;
  /** The session id. */
  readonly keyid: string;
  /** Always `hmac-sha256`. */
  readonly alg: string;
  /** Optional expiry (s since the epoch). */
  readonly expires?: number;
  /** Optional application tag. */
  readonly tag?: string;
}

/** A parsed `Signature-Input` and `Signature` pair. */
export interface ParsedSignature {
  /** The dictionary key both headers use, such as `mesh`. */
  readonly label: string;
  /** Covered components, in order. */
  readonly components: readonly string[];
  readonly params: SignatureParameters;
  /** The `@signature-params` value: the serialised inner list with its parameters. */
  readonly signatureParams: string;
  /**
   * The signature bytes as base64 text, decoded only where they are compared; length not yet
   * checked. Canonical when read from the headers; from a call signature entry, 43 characters
   * of the standard alphabet and `=`.
   */
  readonly signature: string;
}

/**
 * Parses the `Signature-Input` and `Signature` headers strictly:
 * - each within its size bound, a single instance, and a canonical Structured Fields
 *   dictionary (RFC 8941) with exactly one member, under the same label;
 * - the input an inner list of distinct, known, parameterless component names, with typed
 *   parameters among `created`, `expires`, `nonce`, `keyid`, `alg` and `tag`;
 * - the profile's required components (HTTP: `@method` and `@target-uri`; gRPC: `@path` and
 *   `content-digest`), `created`, `nonce`, `keyid` and `alg` present, and `alg` is
 *   `hmac-sha256`;
 * - the signature a parameterless byte sequence.
 *
 * It checks no time, session or HMAC: that is the verifier's work.
 *
 * The form `signRequest` emits is read by a strict scanner (`canonical-fields.ts`) that gives
 * the same members as the general parser; anything else goes through `parseDictionary` and
 * the canonical check, so both paths accept and refuse exactly the same headers.
 *
 * @param headers the request headers or call metadata (lower-case names)
 * @param profile what the signature must cover on this transport
 * @returns the label, the covered components, the parameters and the signature bytes
 * @throws {SignatureVerificationError} `signature_missing`, `signature_malformed`,
 *   `signature_incomplete` or `signature_algorithm`
 * @example
 * ```ts
 * const { params, components } = parseSignatureHeaders(request.headers);
 * ```
 */
export function parseSignatureHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  profile: SigningProfile = HTTP_SIGNING_PROFILE,
): ParsedSignature {
  const input = headers['signature-input'];
  const signature = headers['signature'];
  if (input === undefined && signature === undefined) {
    throw error('signature_missing', SigningMessages.signatureMissing());
  }
  // Several instances of a header arrive as an array (or joined by the server): a signed
  // request carries exactly one of each.
  if (!isBounded(input, 'signature-input') || !isBounded(signature, 'signature')) {
    throw malformed();
  }
  return checkMembers(
    readCanonicalMembers(input, signature) ?? readMembers(input, signature),
    profile,
  );
}

/** The checks on the members, whichever way they were read. */
function checkMembers(members: SignatureMembers, profile: SigningProfile): ParsedSignature {
  const components = readComponents(members, profile);
  const { created, expires, nonce, keyid, alg, tag } = readParameters(
    members.parameterNames,
    members.parameterValues,
  );
  if (
    !profile.required.every((name) => components.includes(name)) ||
    created === undefined ||
    nonce === undefined ||
    keyid === undefined ||
    alg === undefined
  ) {
    throw error('signature_incomplete', profile.incomplete());
  }
  if (alg !== SIGNATURE_ALGORITHM) {
    throw error('signature_algorithm', SigningMessages.signatureAlgorithm());
  }
  if (nonce.length < NONCE_LENGTH.min || nonce.length > NONCE_LENGTH.max) throw malformed();

  const signature = members.signature;
  if (signature === undefined || members.signatureParameters) throw malformed();

  return {
    label: members.label,
    components,
    params: withOptional({ created, nonce, keyid, alg }, expires, tag),
    // The header is canonical and holds this one member, so what follows "label=" is exactly
    // the serialised inner list: no need to serialise it again.
    signatureParams: members.inputValue.slice(members.label.length + 1),
    signature,
  };
}

/** The required parameters, with `expires` and `tag` only when given. */
function withOptional(
  params: SignatureParameters,
  expires: number | undefined,
  tag: string | undefined,
): SignatureParameters {
  if (expires === undefined && tag === undefined) return params;
  return {
    ...params,
    ...(expires === undefined ? {} : { expires }),
    ...(tag === undefined ? {} : { tag }),
  };
}

/** The covered components: distinct, known and parameterless. */
function readComponents(members: SignatureMembers, profile: SigningProfile): string[] {
  const items = members.components;
  if (items === undefined || members.componentParameters) throw malformed();
  const components: string[] = [];
  for (const name of items) {
    if (typeof name !== 'string' || !profile.known.includes(name) || components.includes(name)) {
      throw malformed();
    }
    components.push(name);
  }
  return components;
}

/**
 * The signature parameters, each of its type; an unknown one is malformed. Names are unique:
 * the general parser keeps one of each, the canonical reader refuses a repeated one.
 */
function readParameters(
  names: readonly string[],
  values: readonly unknown[],
): Partial<SignatureParameters> {
  // Plain locals rather than stores to an object by a computed name: this runs on every signed
  // request.
  let created: number | undefined;
  let expires: number | undefined;
  let nonce: string | undefined;
  let keyid: string | undefined;
  let alg: string | undefined;
  let tag: string | undefined;
  for (let i = 0; i < names.length; i++) {
    switch (names[i]) {
      case 'created':
        created = integer(values[i]);
        break;
      case 'expires':
        expires = integer(values[i]);
        break;
      case 'nonce':
        nonce = string(values[i]);
        break;
      case 'keyid':
        keyid = string(values[i]);
        break;
      case 'alg':
        alg = string(values[i]);
        break;
      case 'tag':
        tag = string(values[i]);
        break;
      default:
        throw malformed();
    }
  }
  return { created, expires, nonce, keyid, alg, tag };
}

function isBounded(
  value: string | string[] | undefined,
  name: 'signature-input' | 'signature',
): value is string {
  return typeof value === 'string' && value.length <= SIGNATURE_HEADER_LIMITS[name];
}

/** A non-negative safe integer parameter; anything else is malformed. */
function integer(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw malformed();
  return value;
}

/** A string parameter; anything else is malformed. */
function string(value: unknown): string {
  if (typeof value !== 'string') throw malformed();
  return value;
}

function malformed(): SignatureVerificationError {
  return error('signature_malformed', SigningMessages.signatureMalformed());
}

function error(
  reason: ConstructorParameters<typeof SignatureVerificationError>[0],
  message: string,
): SignatureVerificationError {
  return new SignatureVerificationError(reason, message);
}
