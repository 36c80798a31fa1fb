import { timingSafeEqual } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { DEFAULT_MAX_CLOCK_SKEW } from '../handshake/handshake.constants.js';
import { SigningMessages } from './signing.messages.js';
import { MeshSession } from '../../core/mesh-session.js';
import type { SessionManager } from '../../core/session-manager.js';
import type { Session } from '../../core/session.interface.js';
import { verifyContentDigest } from './content-digest.js';
import { buildSignatureBase, hmacSha256 } from './signature-base.js';
import { parseSignatureHeaders } from './signature-headers.js';
import {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from './signature-verification.error.js';
import {
  DIGEST_COMPONENT,
  HMAC_SHA256_BYTES,
  SIGNATURE_HEADER_LIMITS,
} from './signing.constants.js';

/** What the verifier needs from an HTTP request, whatever the platform. */
export interface SignedRequestParts {
  /** The request method, as received. */
  method: string;
  /** The rebuilt `@target-uri`, or `undefined` when the request has no host. */
  targetUri: string | undefined;
  /** The request headers, with lower-case names. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The exact body bytes, when the platform kept them (`rawBody: true`). */
  rawBody: Buffer | undefined;
  /** Whether the request has a body (`Content-Length` above 0, chunked, or raw bytes kept). */
  hasBody: boolean;
}

const EMPTY = Buffer.alloc(0);

/**
 * Verifies signed requests (RFC 9421 HTTP Message Signatures, hmac-sha256, keyed by the
 * session) for `SessionGuard` in signature mode. In this order:
 * 1. the headers are well-formed: strict Structured Fields within size bounds, covering
 *    `@method`, `@target-uri` and, with a body, `content-digest`, with `created`, `nonce`,
 *    `keyid` and `alg="hmac-sha256"`;
 * 2. the session exists, is live and not revoked (read without sliding: one store round trip
 *    that writes nothing);
 * 3. `created` is within the clock skew;
 * 4. the Content-Digest matches the raw body;
 * 5. the HMAC verifies, length-checked and then compared in constant time;
 * 6. only then is the nonce claimed for this session (a used one is refused) and the session
 *    slid, atomically, in a second store round trip (`SessionStore.claimNonceAndTouch`).
 *
 * That is issue 3's order with one deliberate change: the nonce check comes after the HMAC.
 * The session id is public (it is the `keyid` of every request), so a nonce claimed before
 * the HMAC check would let anyone without the key fill the store; an unauthenticated request
 * never writes to the store.
 *
 * @example
 * ```ts
 * const verifier = new RequestVerifier(sessionManager);
 * const session = await verifier.verify({ method, targetUri, headers, rawBody, hasBody });
 * ```
 */
export class RequestVerifier {
  /** Reports a missing raw body, once: that is a setup problem, not a caller's. */
  protected readonly logger = new Logger('MeshSession');
  /** How far `created` may be from this server's clock (ms). */
  readonly maxClockSkew: number;
  private warnedRawBody = false;

  /**
   * @param sessions the session manager
   * @param maxClockSkew allowed skew (ms); by default `handshake.maxClockSkew`, or 60 s
   */
  constructor(
    protected readonly sessions: SessionManager,
    maxClockSkew: number = sessions.options.handshake?.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW,
  ) {
    this.maxClockSkew = maxClockSkew;
  }

  /**
   * Verifies one request and slides its session.
   *
   * @param request the request's method, target URI, headers and raw body
   * @param now the request's time (ms)
   * @returns the session the request is signed with
   * @throws {SignatureVerificationError} when the signature is missing, malformed, stale,
   *   replayed or wrong, or the body does not match
   * @throws {SessionValidationError} when the session is unknown, expired or revoked
   * @throws whatever the store throws when it fails
   */
  async verify(request: SignedRequestParts, now: number = Date.now()): Promise<Session> {
    const parsed = this.parse(request);
    const { created, expires, nonce, keyid } = parsed.params;
    const session = await this.sessions.readSession(keyid, now);
    const serviceId = session.serviceId;

    const createdMs = created * 1000;
    if (
      Math.abs(now - createdMs) > this.maxClockSkew ||
      (expires !== undefined && expires * 1000 < now)
    ) {
      throw this.reject('signature_stale', SigningMessages.signatureStale(), serviceId);
    }

    let digest: string | undefined;
    if (parsed.components.includes(DIGEST_COMPONENT)) {
      digest = singleHeader(request.headers[DIGEST_COMPONENT]);
      if (digest === undefined) {
        throw this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId);
      }
      const body = request.rawBody ?? (request.hasBody ? undefined : EMPTY);
      if (body === undefined) {
        if (!this.warnedRawBody) {
          this.warnedRawBody = true;
          this.logger.error(SigningMessages.rawBodyMissing());
        }
        throw this.reject('body_unverifiable', SigningMessages.bodyUnverifiable(), serviceId);
      }
      const outcome = verifyContentDigest(digest, body);
      if (outcome !== 'match') {
        throw outcome === 'malformed'
          ? this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId)
          : this.reject('digest_mismatch', SigningMessages.digestMismatch(), serviceId);
      }
    }

    const base = buildSignatureBase(
      parsed.components,
      (component) =>
        component === '@method'
          ? request.method
          : component === '@target-uri'
            ? request.targetUri
            : digest,
      parsed.signatureParams,
    );
    if (base === undefined) {
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId);
    }
    // A MeshSession hands out a copy of its key, wiped as soon as the HMAC is computed; a plain
    // Session from a custom store may hand out the Buffer it keeps, which must stay intact.
    const key = session.sessionKey;
    const ownCopy = session instanceof MeshSession;
    let signed: boolean;
    try {
      // Length first: timingSafeEqual throws on different lengths, and the length is public.
      signed =
        parsed.signature.length === HMAC_SHA256_BYTES &&
        timingSafeEqual(parsed.signature, hmacSha256(key, base));
    } finally {
      if (ownCopy) key.fill(0);
    }
    if (!signed) {
      throw this.reject('signature_invalid', SigningMessages.signatureInvalid(), serviceId);
    }

    // The nonce must stay claimed for as long as `created` would still be accepted.
    const ttl = Math.min(
      Math.max(createdMs + this.maxClockSkew - now + 1_000, 1),
      2 * this.maxClockSkew + 1_000,
    );
    const claimed = await this.sessions.claimNonceAndTouch(session.id, nonce, ttl, now);
    if (!claimed.nonceFresh) {
      throw this.reject('signature_replayed', SigningMessages.signatureReplayed(), serviceId);
    }
    return claimed.session;
  }

  /** Step 1: the headers, and whether they cover the body. */
  protected parse(request: SignedRequestParts): ReturnType<typeof parseSignatureHeaders> {
    try {
      const parsed = parseSignatureHeaders(request.headers);
      if (request.hasBody && !parsed.components.includes(DIGEST_COMPONENT)) {
        throw new SignatureVerificationError(
          'signature_incomplete',
          SigningMessages.signatureIncomplete(),
        );
      }
      return parsed;
    } catch (error) {
      if (error instanceof SignatureVerificationError) {
        this.sessions.recordRejection('error', error.reason);
        throw error;
      }
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed());
    }
  }

  /** Counts and audits a refusal, and builds the error the guard turns into a 401. */
  protected reject(
    reason: SignatureRejectionReason,
    message: string,
    serviceId?: string,
  ): SignatureVerificationError {
    this.sessions.recordRejection('error', reason, serviceId);
    return new SignatureVerificationError(reason, message);
  }
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value.length <= SIGNATURE_HEADER_LIMITS['content-digest']
    ? value
    : undefined;
}
