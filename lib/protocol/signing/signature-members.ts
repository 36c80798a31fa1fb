import {
  parseDictionary,
  serializeDictionary,
  type Dictionary,
  type Item,
} from 'structured-headers';
import { readCanonicalByteSequence, readCanonicalInnerList } from './canonical-fields.js';
import { SignatureVerificationError } from './signature-verification.error.js';
import { SigningMessages } from './signing.messages.js';

/*
 * Reading the `Signature-Input` and `Signature` headers into their members, before any check on
 * what the members hold. Two readers give the same members: a strict scanner for the form
 * `signRequest` emits, and the general Structured Fields parser for anything else.
 */

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
  /**
   * The `Signature` member's bytes as canonical base64 text, or `undefined` when the member is
   * not a byte sequence.
   */
  readonly signature: string | undefined;
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
 * @returns the members, or `undefined` when the headers are not in that form
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
    signature: signatureMember.base64,
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
 * @returns the members
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
    signature: bytes instanceof ArrayBuffer ? Buffer.from(bytes).toString('base64') : undefined,
    signatureParameters: signatureParameters.size > 0,
    inputValue: input,
  };
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

function malformed(): SignatureVerificationError {
  return new SignatureVerificationError(
    'signature_malformed',
    SigningMessages.signatureMalformed(),
  );
}
