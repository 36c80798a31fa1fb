import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type CanActivate,
  type ExecutionContext,
  type HttpException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  SESSION_REQUEST_PROPERTY,
  SKIP_SESSION_KEY,
  STORE_UNAVAILABLE_RETRY_AFTER,
} from './session-guard.constants.js';
import { GuardMessages } from './guard.messages.js';
import { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from './session-guard.options.js';
import { StoreFailureLog } from './store-failure-log.js';
import type { SessionGuardRequest, SessionGuardResponse } from './session-guard-request.js';
import { RateLimiter } from '../core/rate-limiter.js';
import { SessionManager } from '../core/session-manager.js';
import { SessionValidationError } from '../core/session-validation.error.js';
import type { Session } from '../core/session.interface.js';
import { RequestVerifier, type SignedRequestParts } from '../protocol/signing/request-verifier.js';
import { SignatureVerificationError } from '../protocol/signing/signature-verification.error.js';
import { DeadlineQueue } from '../core/deadline-queue.js';
import {
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './session.exceptions.js';

// Marks a request this guard already passed: with the guard both global and on a route, the
// second run must not slide the session, spend rate-limit budget or claim a nonce again. A
// property, not a WeakSet: a weak collection that gains an entry per request slows every
// garbage collection.
const CHECKED = Symbol('meshSessionChecked');

/**
 * Validates the session of every request: the id in the session header must name a live,
 * unrevoked session, within the service's rate limit. The check slides the session. The
 * handler reads the session with `@CurrentSession()`.
 *
 * | request | answer |
 * |---|---|
 * | no session header | 401 `Missing session id` |
 * | not a UUID | 401 `Invalid session id` (no store lookup) |
 * | unknown or expired | 401 `Session not found or expired` |
 * | revoked | 401 `Session has been revoked` (and invalidated) |
 * | over the rate limit | 429 with `Retry-After` and `RateLimit-*` headers |
 * | store error or timeout | 503 `Session store unavailable` with `Retry-After` |
 *
 * In signature mode (`requestSigning`, on by default with `handshake`) the session id alone is
 * refused: the request must carry an RFC 9421 signature made with the session key (see
 * `RequestVerifier`), and every failure is a 401 that names the check (`Missing request
 * signature`, `Invalid request signature`, `Request nonce already used`, ...).
 *
 * Subclass it to change a step: every step is a small `protected` method.
 *
 * @example
 * ```ts
 * @UseGuards(SessionGuard)
 * @Controller('orders')
 * export class OrdersController {}
 *
 * // or globally, with @SkipSession() on public routes:
 * providers: [{ provide: APP_GUARD, useClass: SessionGuard }]
 * ```
 */
@Injectable()
export class SessionGuard implements CanActivate {
  /** Reports store failures; nothing is logged for ordinary refusals. */
  protected readonly logger = new Logger(SessionGuard.name);
  /** Bounds store calls by `storeTimeout`, with one timer for all pending calls. */
  private readonly deadlines: DeadlineQueue;
  /** `@SkipSession()` by handler, then controller. */
  private readonly skippedRoutes = new WeakMap<object, WeakMap<object, boolean>>();

  /**
   * @param sessions the session manager
   * @param reflector reads `@SkipSession()`
   * @param options the header, mode and store timeout
   * @param rateLimiter the per-service limiter, or `null` when rate limiting is off
   * @param verifier signature mode's verifier (the module provides one with the configured
   *   clock skew); one with the default skew is built from `sessions` when absent
   * @param storeFailures the log of store failures, shared with the handshake endpoint
   */
  constructor(
    protected readonly sessions: SessionManager,
    protected readonly reflector: Reflector,
    @Inject(SESSION_GUARD_OPTIONS) protected readonly options: SessionGuardOptions,
    @Optional() @Inject(RateLimiter) protected readonly rateLimiter: RateLimiter | null = null,
    @Optional() @Inject(RequestVerifier) protected verifier: RequestVerifier | null = null,
    @Optional()
    @Inject(StoreFailureLog)
    protected readonly storeFailures: StoreFailureLog = new StoreFailureLog(),
  ) {
    this.deadlines = new DeadlineQueue(options.storeTimeout);
  }

  /**
   * @throws {SessionUnauthorizedException} 401 for a missing, malformed, unknown, expired or
   *   revoked session
   * @throws {SessionRateLimitException} 429 over the rate limit
   * @throws {SessionStoreUnavailableException} 503 when the store fails or times out
   * @throws {Error} on a handler that is not an HTTP route (an RPC or WebSocket payload is
   *   neither read nor written)
   */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isSkipped(context)) return true;
    const type = context.getType<string>();
    if (type !== 'http') throw new Error(GuardMessages.unsupportedContext(type));
    const http = context.switchToHttp();
    await this.authenticate(
      http.getRequest<SessionGuardRequest>(),
      http.getResponse<SessionGuardResponse>(),
    );
    return true;
  }

  /**
   * The guard's check on one HTTP request, outside a route's guard chain (the handshake
   * endpoint's `DELETE` uses it): validates the session or the signature, counts the rate
   * limit, and leaves the session on the request for `@CurrentSession()`. A request already
   * checked passes without a second check.
   *
   * @param request the Express or Fastify request
   * @param response the response, for `Retry-After` and `RateLimit-*`
   * @returns the session
   * @throws the same exceptions as `canActivate`
   */
  async authenticate(
    request: SessionGuardRequest,
    response: SessionGuardResponse,
  ): Promise<Session> {
    const checked = request[SESSION_REQUEST_PROPERTY];
    if (checked !== undefined && (request as { [CHECKED]?: true })[CHECKED] === true) {
      return checked;
    }
    const session = this.options.requestSigning
      ? await this.verifySignature(request, response)
      : await this.validate(this.getSessionId(request), response);
    if (this.rateLimiter !== null) await this.checkRateLimit(this.rateLimiter, session, response);
    request[SESSION_REQUEST_PROPERTY] = session;
    (request as { [CHECKED]?: true })[CHECKED] = true;
    return session;
  }

  /**
   * Whether `@SkipSession()` exempts the route or its controller. Read through the `Reflector`
   * once per handler and controller, then remembered: route metadata is fixed once the app
   * runs, and the lookup walks prototype chains on every call.
   */
  protected isSkipped(context: ExecutionContext): boolean {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byController = this.skippedRoutes.get(handler);
    let skipped = byController?.get(controller);
    if (skipped === undefined) {
      skipped =
        this.reflector.getAllAndOverride<boolean | undefined>(SKIP_SESSION_KEY, [
          handler,
          controller,
        ]) === true;
      if (byController === undefined) {
        byController = new WeakMap();
        this.skippedRoutes.set(handler, byController);
      }
      byController.set(controller, skipped);
    }
    return skipped;
  }

  /** Reads the session id from the request; by default the `sessionHeader` header. */
  protected getSessionId(request: SessionGuardRequest): string | undefined {
    const value = request.headers[this.options.sessionHeader];
    return typeof value === 'string' ? value : undefined;
  }

  /** Validates and slides the session, mapping every failure to an HTTP error. */
  protected async validate(
    id: string | undefined,
    response: SessionGuardResponse,
  ): Promise<Session> {
    try {
      const session = await this.withStoreTimeout(this.sessions.validateSession(id));
      this.storeFailures.answered();
      return session;
    } catch (error) {
      if (error instanceof SessionValidationError) {
        this.storeFailures.answered();
        throw new SessionUnauthorizedException(error.message);
      }
      throw this.storeUnavailable(response, error);
    }
  }

  /**
   * Signature mode: verifies the request's RFC 9421 signature with its session's key and slides
   * the session, mapping every failure to an HTTP error.
   */
  protected async verifySignature(
    request: SessionGuardRequest,
    response: SessionGuardResponse,
  ): Promise<Session> {
    this.verifier ??= new RequestVerifier(this.sessions, {
      warn: (message) => this.logger.error(message),
    });
    try {
      const session = await this.withStoreTimeout(
        this.verifier.verify(this.getSignedRequest(request)),
      );
      this.storeFailures.answered();
      return session;
    } catch (error) {
      if (error instanceof SignatureVerificationError || error instanceof SessionValidationError) {
        throw new SessionUnauthorizedException(error.message);
      }
      throw this.storeUnavailable(response, error);
    }
  }

  /** Limits a store call to `storeTimeout`, so a slow store gives a 503, not a hang. */
  protected withStoreTimeout<T>(pending: Promise<T>): Promise<T> {
    return this.deadlines.bound(pending);
  }

  /**
   * The parts of the request that signature mode verifies. The request has a body when its
   * headers announce one (`Content-Length` above 0, or `Transfer-Encoding`) or when the platform
   * kept body bytes anyway: a body must be covered by `content-digest` however it arrived.
   */
  protected getSignedRequest(request: SessionGuardRequest): SignedRequestParts {
    const length = request.headers['content-length'];
    const rawBody = Buffer.isBuffer(request.rawBody) ? request.rawBody : undefined;
    return {
      method: request.method ?? '',
      targetUri: this.getTargetUri(request),
      headers: request.headers,
      rawBody,
      hasBody:
        (typeof length === 'string' && Number(length) > 0) ||
        request.headers['transfer-encoding'] !== undefined ||
        (rawBody !== undefined && rawBody.length > 0),
    };
  }

  /**
   * The `@target-uri` as this server sees it: scheme, `Host` and the raw path and query.
   * Behind a proxy that rewrites the host or path, override this (Express's `trust proxy`
   * already gives the forwarded scheme).
   */
  protected getTargetUri(request: SessionGuardRequest): string | undefined {
    const authority = request.headers[':authority'] ?? request.headers.host;
    const path = request.originalUrl ?? request.url;
    if (typeof authority !== 'string' || authority === '' || typeof path !== 'string') {
      return undefined;
    }
    return `${request.protocol ?? 'http'}://${authority.toLowerCase()}${path}`;
  }

  /** Counts the request against `session.serviceId`'s budget. */
  protected async checkRateLimit(
    limiter: RateLimiter,
    session: Session,
    response: SessionGuardResponse,
  ): Promise<void> {
    let result;
    try {
      result = await this.withStoreTimeout(limiter.checkLimit(session.serviceId));
    } catch (error) {
      throw this.storeUnavailable(response, error);
    }
    if (result.allowed) return;
    const resetSeconds = Math.max(0, Math.ceil((result.resetTime.getTime() - Date.now()) / 1000));
    response.header('Retry-After', String(result.retryAfter ?? resetSeconds));
    response.header('RateLimit-Limit', String(limiter.maxRequests));
    response.header('RateLimit-Remaining', String(result.remaining));
    response.header('RateLimit-Reset', String(resetSeconds));
    this.sessions.recordRejection('rate_limit', 'rate_limited', session.serviceId);
    throw new SessionRateLimitException();
  }

  /**
   * The 503 for a failed or slow store; it asks the client to retry shortly. The failure goes
   * to the shared store-failure log, which summarises an outage instead of writing a line per
   * request.
   */
  protected storeUnavailable(response: SessionGuardResponse, cause: unknown): HttpException {
    this.storeFailures.failed(cause);
    this.sessions.recordRejection('error', 'store_unavailable');
    response.header('Retry-After', String(STORE_UNAVAILABLE_RETRY_AFTER));
    return new SessionStoreUnavailableException();
  }
}
