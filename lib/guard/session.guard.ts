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
import { SESSION_GUARD_OPTIONS, type SessionGuardOptions } from './session-guard.options.js';
import { StoreFailureLog } from './store-failure-log.js';
import type { SessionGuardRequest, SessionGuardResponse } from './session-guard-request.js';
import { metadataValue, type GrpcCall } from './grpc-call.js';
import { CallTrailers } from './grpc-refusal.js';
import { sessionOfCall } from './call-sessions.js';
import { sessionOfRequest } from './request-sessions.js';
import { SkippedRoutes } from './skipped-routes.js';
import { requestTargetUri, signedCallParts, signedRequestParts } from './signed-parts.js';
import { RateLimiter } from '../core/rate-limiter.js';
import { SessionManager } from '../core/session-manager.js';
import type { Session } from '../core/session.interface.js';
import { RequestVerifier } from '../protocol/signing/request-verifier.js';
import type { SignedRequestParts } from '../protocol/signing/signed-request-parts.js';
import { DeadlineQueue } from '../core/deadline-queue.js';
import { NOOP_SESSION_TELEMETRY, SESSION_TELEMETRY } from '../core/session-telemetry.js';
import type { SessionTelemetry } from '../core/session-telemetry.js';
import { allowCall, allowRequest, callRefused, requestRefused } from './check-outcomes.js';
import { allowed, isPending } from './pending.js';
import { storeUnavailableRefusal } from './check-refusals.js';
import type { GuardSteps } from './guard-steps.js';
import { activateCall, unsupportedContext } from './rpc-activation.js';
import { defaultVerifier, StoreChecks } from './store-checks.js';

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
  /** This guard's steps, for its helpers to call back. */
  private readonly steps: GuardSteps;
  /** Validation, verification, the rate-limit count and the rest of a pending check. */
  private readonly storeChecks: StoreChecks;

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
    // The helpers call these rather than copies of the steps, so that a subclass's overrides run.
    this.steps = {
      isSkipped: (context) => this.isSkipped(context),
      checkCall: (call) => this.checkCall(call),
      checkRateLimit: (limiter, session, response) =>
        this.checkRateLimit(limiter, session, response),
      withStoreTimeout: (pending) => this.withStoreTimeout(pending),
      storeUnavailable: (response, cause) => this.storeUnavailable(response, cause),
    };
    this.storeChecks = new StoreChecks(sessions, storeFailures, telemetry, this.steps);
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
    if (type === 'rpc') return activateCall(context, this.telemetry, this.steps);
    if (this.isSkipped(context)) return true;
    if (type !== 'http') return Promise.reject(unsupportedContext(context));
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
      throw requestRefused(this.telemetry, started, error);
    }
    return this.rateLimiter !== null || isPending(result)
      ? this.storeChecks.finish(request, response, this.rateLimiter, started, result)
      : allowRequest(this.telemetry, request, started, result);
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
    return this.checkCall(call);
  }

  /**
   * {@link authenticateCall}, answered without a Promise when nothing in the check needs one.
   * @throws as `authenticateCall`, always through a rejected Promise
   */
  protected checkCall(call: GrpcCall): Session | Promise<Session> {
    const checked = sessionOfCall(call.call);
    if (checked !== undefined) return checked;
    const trailers = new CallTrailers();
    const started = this.telemetry.startGuardCheck();
    let result: Session | Promise<Session>;
    try {
      result = this.options.requestSigning
        ? this.verifySignature(this.getSignedCall(call), trailers)
        : this.validate(this.getCallSessionId(call), trailers);
    } catch (error) {
      return callRefused(this.telemetry, started, error, trailers, call.metadata);
    }
    return this.rateLimiter !== null || isPending(result)
      ? this.storeChecks.finishCall(call, trailers, this.rateLimiter, started, result)
      : allowCall(this.telemetry, call, started, result);
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
    return this.storeChecks.validate(id, response);
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
    const verifier = (this.verifier ??= defaultVerifier(this.sessions, this.logger));
    return this.storeChecks.verify(verifier, signed, response);
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
  protected checkRateLimit(
    limiter: RateLimiter,
    session: Session,
    response: SessionGuardResponse,
  ): Promise<void> {
    return this.storeChecks.countRateLimit(limiter, session, response);
  }

  /**
   * The 503 for a failed or slow store; it asks the client to retry shortly. The failure goes
   * to the shared store-failure log, which summarises an outage instead of writing a line per
   * request.
   */
  protected storeUnavailable(response: SessionGuardResponse, cause: unknown): HttpException {
    return storeUnavailableRefusal(this.storeFailures, this.sessions, response, cause);
  }
}
