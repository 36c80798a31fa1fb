import type { ExecutionContext, HttpException } from '@nestjs/common';
import type { RateLimiter } from '../core/rate-limiter.js';
import type { Session } from '../core/session.interface.js';
import type { GrpcCall } from './grpc-call.js';
import type { SessionGuardResponse } from './session-guard-request.js';

/**
 * The steps of `SessionGuard` that its helpers call back: its methods of the same names, which
 * a subclass may override. The guard builds one at construction whose functions call its own
 * methods, so that the overrides are the steps that run.
 *
 * @example
 * ```ts
 * const steps: GuardSteps = {
 *   isSkipped: (context) => this.isSkipped(context),
 *   withStoreTimeout: (pending) => this.withStoreTimeout(pending),
 *   // ...
 * };
 * ```
 */
export interface GuardSteps {
  /** Whether `@SkipSession()` exempts the route or its controller. */
  isSkipped(context: ExecutionContext): boolean;
  /**
   * The guard's check on one gRPC call, refusals as gRPC statuses: the session, or a Promise of
   * it when the check needs one.
   */
  checkCall(call: GrpcCall): Session | Promise<Session>;
  /** Counts the request against `session.serviceId`'s budget. */
  checkRateLimit(
    limiter: RateLimiter,
    session: Session,
    response: SessionGuardResponse,
  ): Promise<void>;
  /** Limits a store call to `storeTimeout`. */
  withStoreTimeout<T>(pending: Promise<T>): Promise<T>;
  /** The 503 for a failed or slow store. */
  storeUnavailable(response: SessionGuardResponse, cause: unknown): HttpException;
}
