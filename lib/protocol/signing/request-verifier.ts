import type { SessionManager } from '../../core/session-manager.js';
import type { Session } from '../../core/session.interface.js';
import { DEFAULT_MAX_CLOCK_SKEW } from '../handshake/handshake.constants.js';
import { parseCallSignature } from './call-signature-entry.js';
import { createContentDigest, verifyContentDigest } from './content-digest.js';
import { buildSignatureBase, callSignatureBase, macMatches } from './signature-base.js';
import { sessionMacMatches } from './session-mac.js';
import { parseSignatureHeaders, type ParsedSignature } from './signature-headers.js';
import {
  SignatureVerificationError,
  type SignatureRejectionReason,
} from './signature-verification.error.js';
import { DIGEST_COMPONENT } from './signing.constants.js';
import { SigningMessages } from './signing.messages.js';
import { HTTP_SIGNING_PROFILE } from './signing-profile.js';
import type { RequestVerifierOptions } from './request-verifier.options.js';
import {
  contentDigestHeader,
  coveredValue,
  type SignedRequestParts,
} from './signed-request-parts.js';
import { VerifiedSessionCache, type VerifiedSession } from './verified-session-cache.js';

const EMPTY = Buffer.alloc(0);

/**
 * Verifies signed requests and gRPC calls (RFC 9421 HTTP Message Signatures, hmac-sha256, keyed
 * by the session) for `SessionGuard` in signature mode. In this order:
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
 * The nonce is claimed last, after the HMAC, on purpose. The session id is public (it is the
 * `keyid` of every request), so a nonce claimed before the HMAC check would let anyone without
 * the key fill the store; an unauthenticated request never writes to the store.
 *
 * @example
 * ```ts
 * const verifier = new RequestVerifier(sessionManager, { maxClockSkew: 30_000 });
 * const session = await verifier.verify({ method, targetUri, headers, rawBody, hasBody });
 * ```
 */
export class RequestVerifier {
  /**
   * How far `created` may be from this server's clock (ms).
   *
   * @default DEFAULT_MAX_CLOCK_SKEW
   */
  readonly maxClockSkew: number;
  private readonly warn: (message: string) => void;
  private warnedRawBody = false;
  readonly #cache: VerifiedSessionCache | undefined;

  /**
   * @param sessions the session manager: it reads the session, claims the nonce and counts
   *   refusals
   * @param options the clock skew, and where to report a missing raw body
   */
  constructor(
    protected readonly sessions: SessionManager,
    options: RequestVerifierOptions = {},
  ) {
    this.maxClockSkew = options.maxClockSkew ?? DEFAULT_MAX_CLOCK_SKEW;
    this.warn = options.warn ?? ((message) => console.error(message));
    const capacity = options.sessionCache ?? 0;
    this.#cache = capacity > 0 ? new VerifiedSessionCache(capacity) : undefined;
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
    return this.verifyParsed(request, this.parse(request), now);
  }

  /**
   * {@link verify}, answered without a Promise when the store keeps its sessions in this
   * process (`SessionManager.readSessionNow`, as on the memory store): the same steps, checks
   * and refusals, with no Promise, microtask or store deadline. On any other store it returns
   * `verify`'s Promise. `SessionGuard` calls it.
   *
   * @param request the request's method, target URI, headers and raw body
   * @param now the request's time (ms)
   * @returns the session the request is signed with, or a Promise of it
   * @throws {SignatureVerificationError} as `verify` rejects, but synchronously
   * @throws {SessionValidationError} as `verify` rejects, but synchronously
   * @example
   * ```ts
   * const checked = verifier.verifyNow(parts);
   * const session = checked instanceof Promise ? await checked : checked;
   * ```
   */
  verifyNow(request: SignedRequestParts, now: number = Date.now()): Session | Promise<Session> {
    const parsed = this.parse(request);
    const sessions = this.sessions;
    // A test's partial fake of SessionManager may have readSession alone.
    const session =
      typeof sessions.readSessionNow === 'function'
        ? sessions.readSessionNow(parsed.params.keyid, now)
        : undefined;
    if (session === undefined) return this.verifyParsed(request, parsed, now);
    this.checkSigned(request, parsed, session, now);
    const claimed = sessions.claimNonceAndTouchNow(
      session.id,
      parsed.params.nonce,
      this.nonceTtl(parsed, now),
      now,
    );
    return this.freshSession(claimed, session.serviceId);
  }

  /** Steps 2 to 6 once the headers are parsed, through the store's Promises. */
  private async verifyParsed(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    now: number,
  ): Promise<Session> {
    const cache = this.#cache;
    const known = cache?.find(parsed.params.keyid, now);
    if (known !== undefined) return this.verifyKnown(request, parsed, known, now);
    const session = await this.sessions.readSession(parsed.params.keyid, now);
    this.checkSigned(request, parsed, session, now);
    const claimed = await this.claimNonce(parsed, session, now);
    cache?.remember(claimed, now);
    return claimed;
  }

  /** Steps 3 to 5 with the session read: freshness, body digest and HMAC. */
  private checkSigned(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    session: Session,
    now: number,
  ): void {
    this.checkFreshness(parsed, session.serviceId, now);
    const digest = this.checkDigest(request, parsed, session.serviceId);
    this.checkHmac(request, parsed, digest, session);
  }

  /**
   * Steps 3 to 6 for a session whose key is cached: no read; the store call that claims the
   * nonce also refuses a session that ended or was revoked since, which then leaves the cache.
   */
  private async verifyKnown(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    known: VerifiedSession,
    now: number,
  ): Promise<Session> {
    this.checkFreshness(parsed, known.serviceId, now);
    const digest = this.checkDigest(request, parsed, known.serviceId);
    this.checkHmacWith(request, parsed, digest, known.key, known.serviceId);
    try {
      return await this.claimNonce(parsed, known, now);
    } catch (error) {
      if (!(error instanceof SignatureVerificationError)) this.#cache?.forget(known.id);
      throw error;
    }
  }

  /** Step 1: the headers, and whether they cover the body. */
  protected parse(request: SignedRequestParts): ParsedSignature {
    if (request.callSignature !== undefined) return this.parseCallSignature(request);
    try {
      const profile = request.profile ?? HTTP_SIGNING_PROFILE;
      const parsed = parseSignatureHeaders(request.headers, profile);
      if (request.hasBody && !parsed.components.includes(DIGEST_COMPONENT)) {
        throw new SignatureVerificationError('signature_incomplete', profile.incomplete());
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

  /** Step 1 for a call signed in one entry: that entry alone, strictly. */
  protected parseCallSignature(request: SignedRequestParts): ParsedSignature {
    const { headers } = request;
    const parsed =
      headers['signature-input'] === undefined &&
      headers.signature === undefined &&
      headers[DIGEST_COMPONENT] === undefined
        ? parseCallSignature(request.callSignature ?? '')
        : undefined;
    if (parsed === undefined) {
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed());
    }
    return parsed;
  }

  /** Step 3: `created` (and `expires`, when given) against this server's clock. */
  protected checkFreshness(parsed: ParsedSignature, serviceId: string, now: number): void {
    const { created, expires } = parsed.params;
    if (
      Math.abs(now - created * 1000) > this.maxClockSkew ||
      (expires !== undefined && expires * 1000 < now)
    ) {
      throw this.reject('signature_stale', SigningMessages.signatureStale(), serviceId);
    }
  }

  /**
   * Step 4: the Content-Digest against the raw body, when the signature covers it.
   *
   * @returns the digest header, for the signature base; `undefined` when not covered
   */
  protected checkDigest(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    serviceId: string,
  ): string | undefined {
    if (!parsed.components.includes(DIGEST_COMPONENT)) return undefined;
    const derived = request.callSignature !== undefined;
    const digest = derived ? '' : contentDigestHeader(request);
    if (digest === undefined) {
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId);
    }
    const body = request.rawBody ?? (request.hasBody ? undefined : EMPTY);
    if (body === undefined) {
      if (!this.warnedRawBody) {
        this.warnedRawBody = true;
        this.warn((request.profile ?? HTTP_SIGNING_PROFILE).bytesMissing());
      }
      throw this.reject('body_unverifiable', SigningMessages.bodyUnverifiable(), serviceId);
    }
    // One entry carries no digest: the signature base takes the digest of the bytes received,
    // so a changed message fails the HMAC instead.
    if (derived) return createContentDigest(body);
    const outcome = verifyContentDigest(digest, body);
    if (outcome === 'malformed') {
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId);
    }
    if (outcome !== 'match') {
      throw this.reject('digest_mismatch', SigningMessages.digestMismatch(), serviceId);
    }
    return digest;
  }

  /** Step 5: the HMAC over the signature base, with the session key. */
  protected checkHmac(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    digest: string | undefined,
    session: Session,
  ): void {
    const base = this.signatureBase(request, parsed, digest, session.serviceId);
    if (!sessionMacMatches(session, parsed.signature, base)) {
      throw this.reject('signature_invalid', SigningMessages.signatureInvalid(), session.serviceId);
    }
  }

  /** Step 5 with the key at hand. */
  private checkHmacWith(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    digest: string | undefined,
    key: Buffer,
    serviceId: string,
  ): void {
    if (
      !macMatches(parsed.signature, key, this.signatureBase(request, parsed, digest, serviceId))
    ) {
      throw this.reject('signature_invalid', SigningMessages.signatureInvalid(), serviceId);
    }
  }

  /** The signature base (RFC 9421 §2.5); a component with no value makes it malformed. */
  private signatureBase(
    request: SignedRequestParts,
    parsed: ParsedSignature,
    digest: string | undefined,
    serviceId: string,
  ): string {
    // A call's one entry always covers its path and the digest of the bytes received.
    const base =
      request.callSignature !== undefined
        ? callSignatureBase(request.path, digest ?? '', parsed.signatureParams)
        : buildSignatureBase(
            parsed.components,
            (component) => coveredValue(request, component, digest),
            parsed.signatureParams,
          );
    if (base === undefined) {
      throw this.reject('signature_malformed', SigningMessages.signatureMalformed(), serviceId);
    }
    return base;
  }

  /** Step 6: claims the nonce and slides the session, in one store round trip. */
  protected async claimNonce(
    parsed: ParsedSignature,
    session: Pick<Session, 'id' | 'serviceId'>,
    now: number,
  ): Promise<Session> {
    const claimed = await this.sessions.claimNonceAndTouch(
      session.id,
      parsed.params.nonce,
      this.nonceTtl(parsed, now),
      now,
    );
    return this.freshSession(claimed, session.serviceId);
  }

  /** How long a nonce stays claimed: as long as its `created` would still be accepted. */
  private nonceTtl(parsed: ParsedSignature, now: number): number {
    return Math.min(
      Math.max(parsed.params.created * 1000 + this.maxClockSkew - now + 1_000, 1),
      2 * this.maxClockSkew + 1_000,
    );
  }

  /** The slid session of a claim, or the refusal of a nonce already used. */
  private freshSession(
    claimed: { session: Session; nonceFresh: true } | { session: undefined; nonceFresh: false },
    serviceId: string,
  ): Session {
    if (!claimed.nonceFresh) {
      throw this.reject('signature_replayed', SigningMessages.signatureReplayed(), serviceId);
    }
    return claimed.session;
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
