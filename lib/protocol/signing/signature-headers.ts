import {
  parseDictionary,
  serializeDictionary,
  type Dictionary,
  type Item,
} from 'structured-headers';
import { SigningMessages } from './signing.messages.js';
import { readCanonicalByteSequence, readCanonicalInnerList } from './canonical-fields.js';
import { SignatureVerificationError } from './signature-verification.error.js';
import {
  DIGEST_COMPONENT,
  NONCE_LENGTH,
  REQUIRED_COMPONENTS,
  SIGNATURE_ALGORITHM,
  SIGNATURE_HEADER_LIMITS,
} from './signing.constants.js';

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
  /** The signature bytes, length not yet checked. */
  readonly signature: Buffer;
}

/**
 * Parses the `Signature-Input` and `Signature` headers strictly:
 * - each within its size bound, a single instance, and a canonical Structured Fields
 *   dictionary (RFC 8941) with exactly one member, under the same label;
 * - the input an inner list of distinct, known, parameterless component names, with typed
 *   parameters among `created`, `expires`, `nonce`, `keyid`, `alg` and `tag`;
 * - `@method`, `@target-uri`, `created`, `nonce`, `keyid` and `alg` present, and `alg` is
 *   `hmac-sha256`;
 * - the signature a parameterless byte sequence.
 *
 * It checks no time, session or HMAC: that is the verifier's work.
 *
 * The form `signRequest` emits is read by a strict scanner (`canonical-fields.ts`) that gives
 * the same members as the general parser; anything else goes through `parseDictionary` and
 * the canonical check, so both paths accept and refuse exactly the same headers.
 *
 * @param headers the request headers (lower-case names)
 * @throws {SignatureVerificationError} `signature_missing`, `signature_malformed`,
 *   `signature_incomplete` or `signature_algorithm`
 */
export function parseSignatureHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
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
  return checkMembers(readCanonicalMembers(input, signature) ?? readMembers(input, signature));
}

/**
 * The `Signature-Input` member and the `Signature` member under the same label, as read from
 * the headers, before any check on their contents.
 *
 * @internal
 */
export interface SignatureMembers {
  readonly label: string;
  /** The covered components, or `undefined` when the input member is not an inner list. */
  readonly components: readonly unknown[] | undefined;
  /** Whether a component carries parameters. */
  readonly componentParameters: boolean;
  /** The signature parameters' names, in order, each once. */
  readonly parameterNames: readonly string[];
  /** Their values, in the same order. */
  readonly parameterValues: readonly unknown[];
  /** The `Signature` member's value: a Buffer for a byte sequence. */
  readonly signature: unknown;
  /** Whether the `Signature` member carries parameters. */
  readonly signatureParameters: boolean;
  /** The `Signature-Input` value as received. */
  readonly inputValue: string;
}

/**
 * The canonical form `signRequest` emits, read without the general parser: `undefined` for
 * anything else (see `canonical-fields.ts`), which `readMembers` then accepts or refuses.
 *
 * @param input the `Signature-Input` value
 * @param signature the `Signature` value
 * @example
 * ```ts
 * const headers = signRequest({ method: 'GET', url, sessionId, sessionKey });
 * readCanonicalMembers(headers['signature-input'], headers.signature); // the members
 * ```
 * @internal exported for the tests that compare it with {@link readMembers}
 */
export function readCanonicalMembers(
  input: string,
  signature: string,
): SignatureMembers | undefined {
  const inputMember = readCanonicalInnerList(input);
  if (inputMember === undefined) return undefined;
  const signatureMember = readCanonicalByteSequence(signature);
  if (signatureMember === undefined || signatureMember.key !== inputMember.key) return undefined;
  return {
    label: inputMember.key,
    components: inputMember.items,
    componentParameters: false,
    parameterNames: inputMember.parameterNames,
    parameterValues: inputMember.parameterValues,
    signature: signatureMember.bytes,
    signatureParameters: false,
    inputValue: input,
  };
}

/**
 * Both headers through the general Structured Fields parser: each must be a canonical
 * dictionary with one member, under the same label.
 *
 * @param input the `Signature-Input` value
 * @param signature the `Signature` value
 * @example
 * ```ts
 * readMembers('mesh=("@method");created=1', 'mesh=:AAAA:'); // label 'mesh', ...
 * ```
 * @throws {SignatureVerificationError} `signature_malformed`
 * @internal exported for the tests that compare it with {@link readCanonicalMembers}
 */
export function readMembers(input: string, signature: string): SignatureMembers {
  const inputDictionary = parseCanonical(input);
  const signatureDictionary = parseCanonical(signature);
  if (inputDictionary.size !== 1 || signatureDictionary.size !== 1) throw malformed();
  const [label, [items, parameters]] = [...inputDictionary.entries()][0];
  const signatureMember = signatureDictionary.get(label);
  if (signatureMember === undefined) throw malformed();
  const [bytes, signatureParameters] = signatureMember;
  const innerList = Array.isArray(items) ? (items as Item[]) : undefined;
  return {
    label,
    components: innerList?.map(([name]) => name),
    componentParameters: innerList?.some(([, itemParameters]) => itemParameters.size > 0) ?? false,
    parameterNames: [...parameters.keys()],
    parameterValues: [...parameters.values()],
    signature: bytes instanceof ArrayBuffer ? Buffer.from(bytes) : bytes,
    signatureParameters: signatureParameters.size > 0,
    inputValue: input,
  };
}

/** The checks on the members, whichever way they were read. */
function checkMembers(members: SignatureMembers): ParsedSignature {
  const items = members.components;
  if (items === undefined || members.componentParameters) throw malformed();
  const components: string[] = [];
  for (const name of items) {
    if (typeof name !== 'string' || !isKnownComponent(name) || components.includes(name)) {
      throw malformed();
    }
    components.push(name);
  }

  // Names are unique: the general parser keeps one of each, the canonical reader refuses a
  // repeated one.
  let created: number | undefined;
  let expires: number | undefined;
  let nonce: string | undefined;
  let keyid: string | undefined;
  let alg: string | undefined;
  let tag: string | undefined;
  const { parameterNames: names, parameterValues: values } = members;
  for (let i = 0; i < names.length; i++) {
    const value = values[i];
    switch (names[i]) {
      case 'created':
        created = integer(value);
        break;
      case 'expires':
        expires = integer(value);
        break;
      case 'nonce':
        nonce = string(value);
        break;
      case 'keyid':
        keyid = string(value);
        break;
      case 'alg':
        alg = string(value);
        break;
      case 'tag':
        tag = string(value);
        break;
      default:
        throw malformed();
    }
  }
  if (
    !components.includes(REQUIRED_COMPONENTS[0]) ||
    !components.includes(REQUIRED_COMPONENTS[1]) ||
    created === undefined ||
    nonce === undefined ||
    keyid === undefined ||
    alg === undefined
  ) {
    throw error('signature_incomplete', SigningMessages.signatureIncomplete());
  }
  if (alg !== SIGNATURE_ALGORITHM) {
    throw error('signature_algorithm', SigningMessages.signatureAlgorithm());
  }
  if (nonce.length < NONCE_LENGTH.min || nonce.length > NONCE_LENGTH.max) throw malformed();

  const signature = members.signature;
  if (!Buffer.isBuffer(signature) || members.signatureParameters) throw malformed();

  const params: SignatureParameters = { created, nonce, keyid, alg };
  return {
    label: members.label,
    components,
    params:
      expires === undefined && tag === undefined
        ? params
        : {
            ...params,
            ...(expires === undefined ? {} : { expires }),
            ...(tag === undefined ? {} : { tag }),
          },
    // The header is canonical and holds this one member, so what follows "label=" is exactly
    // the serialised inner list: no need to serialise it again.
    signatureParams: members.inputValue.slice(members.label.length + 1),
    signature,
  };
}

function isBounded(
  value: string | string[] | undefined,
  name: 'signature-input' | 'signature',
): value is string {
  return typeof value === 'string' && value.length <= SIGNATURE_HEADER_LIMITS[name];
}

function parseCanonical(value: string): Dictionary {
  let dictionary: Dictionary;
  try {
    dictionary = parseDictionary(value);
    // Canonical form only: what is verified is exactly what was received.
    if (serializeDictionary(dictionary) !== value) throw malformed();
  } catch {
    throw malformed();
  }
  return dictionary;
}

function isKnownComponent(name: string): boolean {
  return (
    name === REQUIRED_COMPONENTS[0] || name === REQUIRED_COMPONENTS[1] || name === DIGEST_COMPONENT
  );
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
