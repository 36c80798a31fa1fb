import {
  parseDictionary,
  serializeDictionary,
  type BareItem,
  type Dictionary,
} from 'structured-headers';
import { MeshSessionMessages } from '../mesh-session.messages.js';
import { SignatureVerificationError } from './signature-verification.error.js';
import {
  DIGEST_COMPONENT,
  NONCE_LENGTH,
  REQUIRED_COMPONENTS,
  REQUIRED_PARAMETERS,
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

const KNOWN_COMPONENTS: ReadonlySet<string> = new Set([...REQUIRED_COMPONENTS, DIGEST_COMPONENT]);
const PARAMETER_TYPES: Readonly<Record<string, 'integer' | 'string'>> = {
  created: 'integer',
  expires: 'integer',
  nonce: 'string',
  keyid: 'string',
  alg: 'string',
  tag: 'string',
};

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
    throw error('signature_missing', MeshSessionMessages.signatureMissing());
  }
  const inputDictionary = parseBounded(input, 'signature-input');
  const signatureDictionary = parseBounded(signature, 'signature');
  if (inputDictionary.size !== 1 || signatureDictionary.size !== 1) throw malformed();
  const [label, member] = [...inputDictionary.entries()][0];
  const signatureMember = signatureDictionary.get(label);
  if (signatureMember === undefined) throw malformed();

  const [items, parameters] = member;
  if (!Array.isArray(items)) throw malformed();
  const components: string[] = [];
  for (const [name, itemParameters] of items) {
    if (
      typeof name !== 'string' ||
      itemParameters.size > 0 ||
      !KNOWN_COMPONENTS.has(name) ||
      components.includes(name)
    ) {
      throw malformed();
    }
    components.push(name);
  }

  const params: Record<string, string | number> = {};
  for (const [name, value] of parameters) {
    const type = Object.hasOwn(PARAMETER_TYPES, name) ? PARAMETER_TYPES[name] : undefined;
    if (type === undefined || !hasType(value, type)) throw malformed();
    params[name] = value as string | number;
  }
  if (
    REQUIRED_COMPONENTS.some((name) => !components.includes(name)) ||
    REQUIRED_PARAMETERS.some((name) => params[name] === undefined)
  ) {
    throw error('signature_incomplete', MeshSessionMessages.signatureIncomplete());
  }
  if (params.alg !== SIGNATURE_ALGORITHM) {
    throw error('signature_algorithm', MeshSessionMessages.signatureAlgorithm());
  }
  const nonce = params.nonce as string;
  if (nonce.length < NONCE_LENGTH.min || nonce.length > NONCE_LENGTH.max) throw malformed();

  const [bytes, signatureParameters] = signatureMember;
  if (!(bytes instanceof ArrayBuffer) || signatureParameters.size > 0) throw malformed();

  return {
    label,
    components,
    params: params as unknown as SignatureParameters,
    // The header is canonical and holds this one member, so what follows "label=" is exactly
    // the serialised inner list: no need to serialise it again.
    signatureParams: (input as string).slice(label.length + 1),
    signature: Buffer.from(bytes),
  };
}

function parseBounded(
  value: string | string[] | undefined,
  name: 'signature-input' | 'signature',
): Dictionary {
  // Several instances of the header arrive as an array (or joined by the server): a signed
  // request carries exactly one of each.
  if (typeof value !== 'string' || value.length > SIGNATURE_HEADER_LIMITS[name]) {
    throw malformed();
  }
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

function hasType(value: BareItem, type: 'integer' | 'string'): boolean {
  return type === 'string'
    ? typeof value === 'string'
    : typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function malformed(): SignatureVerificationError {
  return error('signature_malformed', MeshSessionMessages.signatureMalformed());
}

function error(
  reason: ConstructorParameters<typeof SignatureVerificationError>[0],
  message: string,
): SignatureVerificationError {
  return new SignatureVerificationError(reason, message);
}
