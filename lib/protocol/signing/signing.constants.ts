/** The only algorithm accepted in signature mode (RFC 9421 §3.3.3). */
export const SIGNATURE_ALGORITHM = 'hmac-sha256';

/** The label under which `MeshClient` and `signRequest` put their signature. */
export const SIGNATURE_LABEL = 'mesh';

/** Component a request with a body must cover as well (RFC 9530 Content-Digest). */
export const DIGEST_COMPONENT = 'content-digest';

/**
 * Size bounds of the signature headers, in characters. A real `Signature-Input` is about 150
 * characters, a `Signature` about 50, a `Content-Digest` about 55.
 */
export const SIGNATURE_HEADER_LIMITS = Object.freeze({
  'signature-input': 1_024,
  signature: 512,
  'content-digest': 512,
});

/** Accepted length of a request nonce, in characters. */
export const NONCE_LENGTH = Object.freeze({ min: 16, max: 128 });

/** Length of an hmac-sha256 signature, in bytes. */
export const HMAC_SHA256_BYTES = 32;
