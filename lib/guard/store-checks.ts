import type { HttpException, Logger } from '@nestjs/common';
import type { RateLimiter } from '../core/rate-limiter.js';
import type { SessionManager } from '../core/session-manager.js';
import type { Session } from '../core/session.interface.js';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import { RequestVerifier } from '../protocol/signing/request-verifier.js';
import type { SignedRequestParts } from '../protocol/signing/signed-request-parts.js';
import { allowCall, allowRequest, callRefused, requestRefused } from './check-outcomes.js';
import { rateLimitRefusal, sessionRefusal, signatureRefusal } from './check-refusals.js';
import type { GrpcCall } from './grpc-call.js';
import type { CallTrailers } from './grpc-refusal.js';
import type { GuardSteps } from './guard-steps.js';
import { isPending } from './pending.js';
import { writeRateLimitHeaders } from './rate-limit-headers.js';
import type { SessionGuardRequest, SessionGuardResponse } from './session-guard-request.js';
import type { StoreFailureLog } from './store-failure-log.js';

/**
 * The checks of `SessionGuard` that ask the store: the session id's validation, signature
 * mode's verification, the rate-limit count, and the rest of an HTTP check that waits for
 * them. Validation and verification answer without a Promise when the store keeps its sessions
 * in this process; otherwise each store call is bounded by `storeTimeout`. Every failure is
 * mapped to its HTTP refusal (the gRPC path converts it), and every answer from the store ends
 * an outage in the store-failure log. Store calls are bounded, store failures answered and the
 * rate limit counted through the guard's steps, which a subclass may override.
 *
 * @example
 * ```ts
 * const checks = new StoreChecks(sessions, storeFailures, telemetry, steps);
 * const session = checks.validate(request.headers['x-mesh-session-id'], response);
 * ```
 */
export class StoreChecks {
  /**
   * @param sessions validates and slides the sessions
   * @param storeFailures the log of store failures, shared with the handshake endpoint
   * @param telemetry counts and times each check (`mesh_session.guard.*`)
   * @param steps the guard's steps, called back
   */
  constructor(
    private readonly sessions: SessionManager,
    private readonly storeFailures: StoreFailureLog,
    private readonly telemetry: SessionTelemetry,
    private readonly steps: GuardSteps,
  ) {}

  /**
   * Validates and slides the session: without a Promise when the store keeps its sessions in
   * this process (`SessionManager.validateSessionNow`).
   *
   * @param id the session id the request carries
   * @param response where a 503's `Retry-After` goes
   * @returns the session, or a Promise of it
   * @throws {SessionUnauthorizedException} 401 for a refused session
   * @throws the `storeUnavailable` step's 503 when the store fails or times out
   */
  validate(id: string | undefined, response: SessionGuardResponse): Session | Promise<Session> {
    const sessions = this.sessions;
    let session: Session | undefined;
    try {
      // A test's partial fake of SessionManager may have validateSession alone.
      session =
        typeof sessions.validateSessionNow === 'function'
          ? sessions.validateSessionNow(id)
          : undefined;
    } catch (error) {
      throw this.validationFailure(response, error);
    }
    if (session === undefined) return this.validateLater(id, response);
    this.storeFailures.answered();
    return session;
  }

  /** `validate` through the store's Promise, bounded by `storeTimeout`. */
  private async validateLater(
    id: string | undefined,
    response: SessionGuardResponse,
  ): Promise<Session> {
    try {
      const session = await this.steps.withStoreTimeout(this.sessions.validateSession(id));
      this.storeFailures.answered();
      return session;
    } catch (error) {
      throw this.validationFailure(response, error);
    }
  }

  /** A refusal as a 401; any other failure, the store's, as a 503. */
  private validationFailure(response: SessionGuardResponse, error: unknown): HttpException {
    return (
      sessionRefusal(error, this.storeFailures) ?? this.steps.storeUnavailable(response, error)
    );
  }

  /**
   * Signature mode: verifies the RFC 9421 signature of a request or gRPC call with its session's
   * key and slides the session: without a Promise when the store keeps its sessions in this
   * process (`RequestVerifier.verifyNow`).
   *
   * @param verifier checks the signature
   * @param signed the parts the signature covers
   * @param response where a 503's `Retry-After` goes
   * @returns the session, or a Promise of it
   * @throws {SessionUnauthorizedException} 401 naming the failed check
   * @throws the `storeUnavailable` step's 503 when the store fails or times out
   */
  verify(
    verifier: RequestVerifier,
    signed: SignedRequestParts,
    response: SessionGuardResponse,
  ): Session | Promise<Session> {
    let result: Session | Promise<Session>;
    try {
      result = verifier.verifyNow(signed);
    } catch (error) {
      throw this.verificationFailure(response, error);
    }
    if (isPending(result)) return this.verifyLater(result, response);
    this.storeFailures.answered();
    return result;
  }

  /** `verify` through the store's Promise, bounded by `storeTimeout`. */
  private async verifyLater(
    pending: Promise<Session>,
    response: SessionGuardResponse,
  ): Promise<Session> {
    try {
      const session = await this.steps.withStoreTimeout(pending);
      this.storeFailures.answered();
      return session;
    } catch (error) {
      throw this.verificationFailure(response, error);
    }
  }

  /** A refused signature or session as a 401; any other failure, the store's, as a 503. */
  private verificationFailure(response: SessionGuardResponse, error: unknown): HttpException {
    return signatureRefusal(error) ?? this.steps.storeUnavailable(response, error);
  }

  /**
   * Counts the request against `session.serviceId`'s budget, and writes the `RateLimit-*`
   * headers.
   *
   * @param limiter the per-service limiter
   * @param session the checked session
   * @param response where the headers go
   * @throws {SessionRateLimitException} 429 over the limit, with `Retry-After`
   * @throws the `storeUnavailable` step's 503 when the limiter's store fails or times out
   */
  async countRateLimit(
    limiter: RateLimiter,
    session: Session,
    response: SessionGuardResponse,
  ): Promise<void> {
    let result;
    try {
      result = await this.steps.withStoreTimeout(limiter.checkLimit(session.serviceId));
    } catch (error) {
      throw this.steps.storeUnavailable(response, error);
    }
    if (!result.allowed) {
      throw rateLimitRefusal(this.sessions, limiter, result, session.serviceId, response);
    }
    writeRateLimitHeaders(response, limiter.maxRequests, result);
  }

  /**
   * The rest of an HTTP check that needs a Promise: the session, then the rate limit; counted,
   * and the session kept beside the request for `@CurrentSession()`.
   *
   * @param request the Express or Fastify request
   * @param response the response, for `Retry-After` and `RateLimit-*`
   * @param limiter the per-service limiter, or `null` when rate limiting is off
   * @param started what `telemetry.startGuardCheck()` returned
   * @param result the session, or the Promise of it
   * @returns the session
   * @throws the refusals of `SessionGuard.canActivate`
   */
  async finish(
    request: SessionGuardRequest,
    response: SessionGuardResponse,
    limiter: RateLimiter | null,
    started: number,
    result: Session | Promise<Session>,
  ): Promise<Session> {
    let session: Session;
    try {
      session = await result;
      if (limiter !== null) await this.steps.checkRateLimit(limiter, session, response);
    } catch (error) {
      throw requestRefused(this.telemetry, started, error);
    }
    return allowRequest(this.telemetry, request, started, session);
  }

  /**
   * The end of a gRPC call's check that needs a Promise: the store's answer awaited, then the
   * rate limit; counted, and the session kept with the server call.
   *
   * @param call the call
   * @param trailers the headers the check writes, sent as trailing metadata on a refusal
   * @param limiter the rate limiter, if any
   * @param started what `telemetry.startGuardCheck()` returned
   * @param result the session, or the Promise of the store's answer
   * @returns the session
   * @throws an `RpcException`: UNAUTHENTICATED, RESOURCE_EXHAUSTED or UNAVAILABLE
   */
  async finishCall(
    call: GrpcCall,
    trailers: CallTrailers,
    limiter: RateLimiter | null,
    started: number,
    result: Session | Promise<Session>,
  ): Promise<Session> {
    let session: Session;
    try {
      session = await result;
      if (limiter !== null) await this.steps.checkRateLimit(limiter, session, trailers);
    } catch (error) {
      return callRefused(this.telemetry, started, error, trailers, call.metadata);
    }
    return allowCall(this.telemetry, call, started, session);
  }
}

/**
 * Signature mode's verifier when the module provided none: one with the default clock skew,
 * its warnings logged at `error`.
 *
 * @param sessions reads the sessions and claims the nonces
 * @param logger where the verifier's warnings go
 * @returns the verifier
 * @example
 * ```ts
 * const verifier = (this.verifier ??= defaultVerifier(this.sessions, this.logger));
 * ```
 */
export function defaultVerifier(sessions: SessionManager, logger: Logger): RequestVerifier {
  return new RequestVerifier(sessions, { warn: (message) => logger.error(message) });
}
