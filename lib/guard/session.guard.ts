import {
  BadRequestException,
  HttpException,
  Inject,
  Injectable,
  Logger,
  Optional,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { STORE_UNAVAILABLE_RETRY_AFTER } from './session-guard.constants.js';
import { GuardMessages } from './guard.messages.js';
import { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from './session-guard.options.js';
import { StoreFailureLog } from './store-failure-log.js';
import type { SessionGuardRequest, SessionGuardResponse } from './session-guard-request.js';
import { describeContext, metadataValue, readGrpcCall, type GrpcCall } from './grpc-call.js';
import { CallTrailers, grpcRefusal } from './grpc-refusal.js';
import { sessionOfCall, setSessionOfCall } from './call-sessions.js';
import { sessionOfRequest, setSessionOfRequest } from './request-sessions.js';
import { isUndecodableMessage } from '../protocol/grpc/message-bytes.js';
import { SkippedRoutes } from './skipped-routes.js';
import { writeRateLimitHeaders, writeRateLimitRefusal } from './rate-limit-headers.js';
import { requestTargetUri, signedCallParts, signedRequestParts } from './signed-parts.js';
import { RateLimiter } from '../core/rate-limiter.js';
import { SessionManager } from '../core/session-manager.js';
import { SessionValidationError } from '../core/session-validation.error.js';
import type { Session } from '../core/session.interface.js';
import { RequestVerifier } from '../protocol/signing/request-verifier.js';
import type { SignedRequestParts } from '../protocol/signing/signed-request-parts.js';
import { SignatureVerificationError } from '../protocol/signing/signature-verification.error.js';
import { DeadlineQueue } from '../core/deadline-queue.js';
import {
  NOOP_SESSION_TELEMETRY,
  SESSION_TELEMETRY,
  type SessionTelemetry,
} from '../core/session-telemetry.js';
import { refusalReasonOf } from './refusal-reasons.js';
import {
  SessionRateLimitException,
  SessionStoreUnavailableException,
  SessionUnauthorizedException,
} from './session.exceptions.js';

/** Whether a step's answer is still pending. */
function isPending<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === 'function';
}

/** What `canActivate` resolves to once a pending check passed. */
const allowed = (): boolean => true;

/**
 * Validates the session of every request: the id in the session header must name a live,
 * unrevoked session, within the service's rate limit. The check slides the session, and the
 * handler reads it with `@CurrentSession()`. Refusals: 401 `Missing session id`, `Invalid
 * session id` (no store lookup), `Session not found or expired`, `Session has been revoked`;
 * 429 with `Retry-After` and `RateLimit-*`; 503 `Session store unavailable` with `Retry-After`.
 *
 * In signature mode (`requestSigning`, on by default with `handshake`) the request must carry
 * an RFC 9421 signature made with the session key (see `RequestVerifier`); each failure is a
 * 401 naming the check (`Missing request signature`, `Request nonce already used`, ...).
 *
 * On a gRPC handler (`@GrpcMethod`) the same checks read the call metadata, and refusals are
 * gRPC statuses with the same messages: UNAUTHENTICATED, RESOURCE_EXHAUSTED and UNAVAILABLE
 * (with `retry-after` trailers), INVALID_ARGUMENT for an undecodable message. Signature mode
 * there needs `meshGrpcOptions()` (`nestjs-mesh-session/grpc`), which keeps message bytes.
 * Other transports (TCP, NATS, Redis, RabbitMQ, WebSockets, ...) get an error naming them:
 * their payloads are never read as credentials nor written to.
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
  /** Which routes `@SkipSession()` exempts. */
  private readonly skippedRoutes: SkippedRoutes;

  /**
   * @param sessions the session manager
   * @param reflector reads `@SkipSession()`
   * @param options the header, mode and store timeout
   * @param rateLimiter the per-service limiter, or `null` when rate limiting is off
   * @param verifier signature mode's verifier (the module provides one with the configured
   *   clock skew); one with the default skew is built from `sessions` when absent
   * @param storeFailures the log of store failures, shared with the handshake endpoint
   * @param telemetry counts and times each check (`mesh_session.guard.*`); the no-op one,
   *   whose methods are empty, when nothing records
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
    @Optional()
    @Inject(SESSION_TELEMETRY)
    protected readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {
    this.deadlines = new DeadlineQueue(options.storeTimeout);
    this.skippedRoutes = new SkippedRoutes(reflector);
  }

  /**
   * @throws {SessionUnauthorizedException} 401 for a missing, malformed, unknown, expired or
   *   revoked session
   * @throws {SessionRateLimitException} 429 over the rate limit
   * @throws {SessionStoreUnavailableException} 503 when the store fails or times out
   * @throws an `RpcException` with the matching gRPC status, on a gRPC handler
   * @throws {Error} on a handler that is neither an HTTP route nor a gRPC method (an RPC or
   *   WebSocket payload is neither read nor written)
   * @returns `true`, without a Promise when the check needs none (session-id mode on a store
   *   that keeps its sessions in this process, no rate limit); every refusal is a rejection
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const type = context.getType<string>();
    if (type === 'rpc') return this.activateCall(context);
    if (this.isSkipped(context)) return true;
    if (type !== 'http') {
      return Promise.reject(new Error(GuardMessages.unsupportedContext(describeContext(context))));
    }
    const http = context.switchToHttp();
    let checked: Session | Promise<Session>;
    try {
      checked = this.check(
        http.getRequest<SessionGuardRequest>(),
        http.getResponse<SessionGuardResponse>(),
      );
    } catch (error) {
      return Promise.reject(error as Error);
    }
    return isPending(checked) ? checked.then(allowed) : true;
  }

  /**
   * An `rpc` context: a gRPC call is checked (an undecodable message is refused even on a
   * skipped route); any other transport is refused with an error naming it.
   */
  private async activateCall(context: ExecutionContext): Promise<boolean> {
    const call = readGrpcCall(context);
    if (call === undefined) {
      if (this.isSkipped(context)) return true;
      throw new Error(GuardMessages.unsupportedContext(describeContext(context)));
    }
    if (isUndecodableMessage(call.message)) {
      const refusal = new BadRequestException(GuardMessages.messageUndecodable());
      const telemetry = this.telemetry;
      telemetry.guardRefused('grpc', telemetry.startGuardCheck(), refusalReasonOf(refusal));
      throw await grpcRefusal(refusal, new CallTrailers(), call.metadata);
    }
    if (!this.isSkipped(context)) await this.authenticateCall(call);
    return true;
  }

  /**
   * The guard's check on one HTTP request, outside a route's guard chain (the handshake
   * endpoint's `DELETE` uses it): validates the session or the signature, counts the rate
   * limit, and keeps the session beside the request for `@CurrentSession()`. A request already
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
    return this.check(request, response);
  }

  /**
   * {@link authenticate}, answered without a Promise when nothing in the check needs one: a
   * request checked that way costs no Promise, no microtask and no store deadline.
   *
   * @throws the same exceptions as `canActivate`, synchronously when they need no Promise
   */
  protected check(
    request: SessionGuardRequest,
    response: SessionGuardResponse,
  ): Session | Promise<Session> {
    // Checked already (the guard both global and on a route): a second run must not slide,
    // spend budget or claim a nonce again.
    const checked = sessionOfRequest(request);
    if (checked !== undefined) return checked;
    const started = this.telemetry.startGuardCheck();
    let result: Session | Promise<Session>;
    try {
      result = this.options.requestSigning
        ? this.verifySignature(this.getSignedRequest(request), response)
        : this.validate(this.getSessionId(request), response);
    } catch (error) {
      throw this.refused(started, error);
    }
    return this.rateLimiter !== null || isPending(result)
      ? this.checkLater(request, response, started, result)
      : this.allow(request, started, result);
  }

  /** The rest of a check that needs a Promise: the session, then the rate limit. */
  private async checkLater(
    request: SessionGuardRequest,
    response: SessionGuardResponse,
    started: number,
    result: Session | Promise<Session>,
  ): Promise<Session> {
    let session: Session;
    try {
      session = await result;
      if (this.rateLimiter !== null) await this.checkRateLimit(this.rateLimiter, session, response);
    } catch (error) {
      throw this.refused(started, error);
    }
    return this.allow(request, started, session);
  }

  /** Counts a refused request; returns the error to throw. */
  private refused(started: number, error: unknown): unknown {
    const telemetry = this.telemetry;
    if (telemetry.enabled) telemetry.guardRefused('http', started, refusalReasonOf(error));
    return error;
  }

  /** Counts an allowed request and keeps its session beside it for `@CurrentSession()`. */
  private allow(request: SessionGuardRequest, started: number, session: Session): Session {
    this.telemetry.guardAllowed('http', started, session.serviceId);
    setSessionOfRequest(request, session);
    return session;
  }

  /**
   * The guard's check on one gRPC call: the same as {@link authenticate}, reading the call
   * metadata, with refusals as gRPC statuses. The session is kept with the server call for
   * `@CurrentSession()`; the message is neither changed nor written to.
   *
   * @param call the call's message, metadata, server call and method path
   * @returns the session
   * @throws an `RpcException`: UNAUTHENTICATED, RESOURCE_EXHAUSTED or UNAVAILABLE
   */
  async authenticateCall(call: GrpcCall): Promise<Session> {
    const checked = sessionOfCall(call.call);
    if (checked !== undefined) return checked;
    const trailers = new CallTrailers();
    const telemetry = this.telemetry;
    const started = telemetry.startGuardCheck();
    try {
      const session = this.options.requestSigning
        ? await this.verifySignature(this.getSignedCall(call), trailers)
        : await this.validate(this.getCallSessionId(call), trailers);
      if (this.rateLimiter !== null) await this.checkRateLimit(this.rateLimiter, session, trailers);
      telemetry.guardAllowed('grpc', started, session.serviceId);
      setSessionOfCall(call.call, session);
      return session;
    } catch (error) {
      if (telemetry.enabled) telemetry.guardRefused('grpc', started, refusalReasonOf(error));
      if (error instanceof HttpException) throw await grpcRefusal(error, trailers, call.metadata);
      throw error;
    }
  }

  /** Whether `@SkipSession()` exempts the route or its controller. */
  protected isSkipped(context: ExecutionContext): boolean {
    return this.skippedRoutes.has(context);
  }

  /** Reads the session id from the request; by default the `sessionHeader` header. */
  protected getSessionId(request: SessionGuardRequest): string | undefined {
    const value = request.headers[this.options.sessionHeader];
    return typeof value === 'string' ? value : undefined;
  }

  /** Reads the session id from a gRPC call; by default the `sessionHeader` metadata entry. */
  protected getCallSessionId(call: GrpcCall): string | undefined {
    return metadataValue(call.metadata, this.options.sessionHeader);
  }

  /**
   * Validates and slides the session, mapping every failure to an HTTP error: without a Promise
   * when the store keeps its sessions in this process (`SessionManager.validateSessionNow`).
   */
  protected validate(
    id: string | undefined,
    response: SessionGuardResponse,
  ): Session | Promise<Session> {
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
      const session = await this.withStoreTimeout(this.sessions.validateSession(id));
      this.storeFailures.answered();
      return session;
    } catch (error) {
      throw this.validationFailure(response, error);
    }
  }

  /** A refusal as a 401; any other failure, the store's, as a 503. */
  private validationFailure(response: SessionGuardResponse, error: unknown): HttpException {
    if (error instanceof SessionValidationError) {
      this.storeFailures.answered();
      return new SessionUnauthorizedException(error.message, { cause: error });
    }
    return this.storeUnavailable(response, error);
  }

  /**
   * Signature mode: verifies the RFC 9421 signature of a request or gRPC call with its session's
   * key and slides the session, mapping every failure to an HTTP error: without a Promise when
   * the store keeps its sessions in this process (`RequestVerifier.verifyNow`).
   */
  protected verifySignature(
    signed: SignedRequestParts,
    response: SessionGuardResponse,
  ): Session | Promise<Session> {
    const verifier = (this.verifier ??= new RequestVerifier(this.sessions, {
      warn: (message) => this.logger.error(message),
    }));
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

  /** `verifySignature` through the store's Promise, bounded by `storeTimeout`. */
  private async verifyLater(
    pending: Promise<Session>,
    response: SessionGuardResponse,
  ): Promise<Session> {
    try {
      const session = await this.withStoreTimeout(pending);
      this.storeFailures.answered();
      return session;
    } catch (error) {
      throw this.verificationFailure(response, error);
    }
  }

  /** A refused signature or session as a 401; any other failure, the store's, as a 503. */
  private verificationFailure(response: SessionGuardResponse, error: unknown): HttpException {
    if (error instanceof SignatureVerificationError || error instanceof SessionValidationError) {
      return new SessionUnauthorizedException(error.message, { cause: error });
    }
    return this.storeUnavailable(response, error);
  }

  /** Limits a store call to `storeTimeout`, so a slow store gives a 503, not a hang. */
  protected withStoreTimeout<T>(pending: Promise<T>): Promise<T> {
    return this.deadlines.bound(pending);
  }

  /** The parts of an HTTP request that signature mode verifies. */
  protected getSignedRequest(request: SessionGuardRequest): SignedRequestParts {
    return signedRequestParts(request, this.getTargetUri(request));
  }

  /** The parts of a gRPC call that signature mode verifies. */
  protected getSignedCall(call: GrpcCall): SignedRequestParts {
    return signedCallParts(call);
  }

  /**
   * The `@target-uri` as this server sees it: scheme, `Host` and the raw path and query.
   * Behind a proxy that rewrites the host or path, override this (Express's `trust proxy`
   * already gives the forwarded scheme).
   */
  protected getTargetUri(request: SessionGuardRequest): string | undefined {
    return requestTargetUri(request);
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
    if (result.allowed) {
      writeRateLimitHeaders(response, limiter.maxRequests, result);
      return;
    }
    writeRateLimitRefusal(response, limiter.maxRequests, result);
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
    return new SessionStoreUnavailableException(undefined, { cause });
  }
}
