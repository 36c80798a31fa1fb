import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  type HttpException,
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SessionStoreUnavailableException } from '../guard/session.exceptions.js';
import { HandshakeEndpointMessages } from './handshake-endpoint.messages.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { SessionManager } from '../core/session-manager.js';
import type { Session } from '../core/session.interface.js';
import { withTimeout } from '../core/with-timeout.js';
import { HANDSHAKE_PROTOCOL_VERSION } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import { HandshakeFailedException, HandshakeRateLimitException } from './handshake.exceptions.js';
import { HandshakeLimiter } from './handshake-limiter.js';
import { readHello } from './read-hello.js';
import { LogThrottle } from '../core/log-throttle.js';
import { redactDumps } from '../core/redacted.js';
import { StoreFailureLog } from '../guard/store-failure-log.js';
import { StoreCallError } from './store-call.error.js';
import { MeshAuditEmitter } from '../monitoring/mesh-audit.emitter.js';
import { SessionStore } from '../core/session-store.js';
import {
  NOOP_SESSION_TELEMETRY,
  SESSION_TELEMETRY,
  type SessionTelemetry,
} from '../core/session-telemetry.js';
import {
  HANDSHAKE_ENDPOINT_OPTIONS,
  type HandshakeEndpointOptions,
} from './handshake-endpoint.options.js';
import {
  type ParsedClientHello,
  type ServerHello,
} from '../protocol/handshake/handshake-hello.interface.js';
import type { HandshakePeer } from './handshake-peer.js';
import { handshakeOutcomeOf } from './handshake-outcome.js';
import { checkClientHello } from './client-hello-checks.js';
import { claimHelloNonce } from './hello-nonces.js';
import { serverKeyExchange, signedServerHello } from './server-hello.js';

export type { HandshakePeer } from './handshake-peer.js';

/** The shortest time between two summaries of failed handshakes in the log (ms). */
const FAILURE_LOG_INTERVAL = 10_000;

/**
 * The server side of the handshake. It checks, in order: the client's signature against the
 * pinned keys of the service it claims to be; that this service is the target; the timestamp
 * against `maxClockSkew`; and that the nonce is new (the replay cache lives in the store). It
 * then derives the session key (X25519 + HKDF-SHA256), creates the session, and signs the
 * whole transcript.
 *
 * Every failure answers the generic 401 `Handshake failed`; the precise reason goes to the
 * log and to a `'connection'` audit event with `action: 'handshake_failed'`.
 *
 * @example
 * ```ts
 * // Served by the module at handshake.path; usable directly for another transport:
 * const reply = await handshakes.accept(helloJson, { address: '10.0.0.7' });
 * ```
 */
@Injectable()
export class HandshakeService implements OnApplicationShutdown {
  /** Failed handshakes are logged here at `warn`, with their precise reason. */
  protected readonly logger = new Logger('MeshHandshake');
  /** The per-pair limit and the budget of failed checks. */
  protected readonly limiter: HandshakeLimiter;
  /** Failed handshakes, summarised in the log instead of a line each. */
  protected readonly failures: LogThrottle;
  /** Checked against when the claimed service is unknown: this service's own public key. */
  private readonly decoyKey: KeyObject;
  /** The options, private key included: a private field, which no generic dump sees. */
  readonly #handshake: HandshakeEndpointOptions;

  /**
   * @param sessions creates the sessions
   * @param store the replay cache of hello nonces, and the rate limiter's backend
   * @param audit where refusals are reported
   * @param handshake this service's identity, the pinned identities and the limits
   * @param storeFailures the log of store failures, shared with the guard
   * @param telemetry where handshakes are counted, timed and traced
   */
  constructor(
    protected readonly sessions: SessionManager,
    protected readonly store: SessionStore,
    protected readonly audit: MeshAuditEmitter,
    @Inject(HANDSHAKE_ENDPOINT_OPTIONS) handshake: HandshakeEndpointOptions,
    protected readonly storeFailures: StoreFailureLog = new StoreFailureLog(),
    @Optional()
    @Inject(SESSION_TELEMETRY)
    protected readonly telemetry: SessionTelemetry = NOOP_SESSION_TELEMETRY,
  ) {
    this.#handshake = handshake;
    this.decoyKey = createPublicKey(handshake.privateKey);
    this.limiter = new HandshakeLimiter(store, handshake.rateLimit, handshake.maxFailuresPerSecond);
    this.failures = new LogThrottle(this.logger, FAILURE_LOG_INTERVAL, {
      first: (line) => line,
      summary: HandshakeEndpointMessages.handshakeFailureSummary,
    });
  }

  /** This service's identity, the pinned identities and the limits. */
  protected get handshake(): HandshakeEndpointOptions {
    return this.#handshake;
  }

  static {
    // Keeps the private identity key out of `console.log`, `util.inspect` and Nest's `Logger`.
    redactDumps(this, (self) => ({
      serviceId: self.#handshake.serviceId,
      trustedServices: [...self.#handshake.trustedServices.keys()],
    }));
  }

  /**
   * Runs the server side of one handshake. It is counted and timed (`mesh_session.handshakes`,
   * `mesh_session.handshake.duration`) and, when tracing, runs in a `mesh_session.handshake`
   * span, a child of the transport's server span.
   *
   * @param message the client hello: its JSON text, its parsed value, or the reason the body
   *   could not be read
   * @param peer who sent it
   * @returns the signed server hello
   * @throws {HandshakeFailedException} 401 `Handshake failed`, whatever went wrong
   * @throws {HandshakeRateLimitException} 429 over a limit, with its `retryAfter`
   * @throws {SessionStoreUnavailableException} 503 when the store fails or times out
   */
  async accept(
    message: string | object | HandshakeError,
    peer: HandshakePeer,
  ): Promise<ServerHello> {
    const hello = readHello(message);
    const claimed = hello instanceof HandshakeError ? undefined : hello.hello.clientId;
    // Only pinned ids get a pair of their own: invented ids share one per address.
    const pinned = claimed !== undefined && this.#handshake.trustedServices.has(claimed);
    const pairService = pinned ? claimed : undefined;
    return this.telemetry.handshake(
      'server',
      peer.transport ?? 'http',
      pairService,
      () => this.acceptHello(hello, peer, claimed, pairService),
      handshakeOutcomeOf,
    );
  }

  /** `accept` once the hello is read: every failure mapped to its HTTP error. */
  private async acceptHello(
    hello: ParsedClientHello | HandshakeError,
    peer: HandshakePeer,
    claimed: string | undefined,
    pairService: string | undefined,
  ): Promise<ServerHello> {
    try {
      await this.admit(peer, pairService);
      if (hello instanceof HandshakeError) throw hello;
      return await this.complete(hello, peer);
    } catch (error) {
      if (error instanceof HandshakeError) {
        await this.limiter.failed(peer.address, pairService);
        throw this.fail(peer, claimed, error.reason);
      }
      if (error instanceof StoreCallError) throw this.storeUnavailable(error.cause);
      if (error instanceof HandshakeRateLimitException) throw error;
      throw this.unexpected(error);
    }
  }

  /** Applies the handshake limits before any signature is checked. */
  protected async admit(peer: HandshakePeer, service: string | undefined): Promise<void> {
    const refusal = await this.storeCall(this.limiter.admit(peer.address, service));
    if (refusal === undefined) return;
    this.audit.emit('rate_limit', undefined, {
      action: 'handshake_rate_limited',
      success: false,
      metadata: { peerAddress: peer.address, limit: refusal.limit },
    });
    throw new HandshakeRateLimitException(refusal.retryAfter);
  }

  /**
   * Ends a session at its client's request (the signed `DELETE` on the handshake path).
   *
   * @param session the session the request was signed with
   * @returns whether it was still there
   */
  end(session: Session): Promise<boolean> {
    return this.sessions.invalidateSession(session.id);
  }

  /** Releases the rate limiter's timers. */
  async onApplicationShutdown(): Promise<void> {
    await this.limiter.close();
  }

  /** Steps 1 to 8, once the hello is well-formed. */
  protected async complete(client: ParsedClientHello, peer: HandshakePeer): Promise<ServerHello> {
    await this.verifyHello(client, Date.now());
    return this.openSession(client, peer);
  }

  /**
   * The client's signature against the pinned keys of the service it claims, the target, the
   * timestamp, and a nonce never seen inside the window (the replay cache is the store).
   */
  protected async verifyHello(client: ParsedClientHello, now: number): Promise<void> {
    const handshake = this.#handshake;
    checkClientHello(client, handshake, this.decoyKey, now);
    const fresh = await this.storeCall(
      claimHelloNonce(this.store, this.telemetry, client.hello, handshake.maxClockSkew, now),
    );
    if (!fresh) throw new HandshakeError(HandshakeMessages.handshakeReplayed());
  }

  /** Derives the session key, creates the session and signs the whole transcript. */
  protected async openSession(
    client: ParsedClientHello,
    peer: HandshakePeer,
  ): Promise<ServerHello> {
    const { clientId, clientVersion } = client.hello;
    const exchange = serverKeyExchange(client);
    let session: Session;
    try {
      session = await this.storeCall(
        this.sessions.createSession(clientId, exchange.key, {
          peerAddress: peer.address,
          ...(clientVersion === undefined ? {} : { clientVersion }),
          handshakeVersion: HANDSHAKE_PROTOCOL_VERSION,
        }),
      );
    } finally {
      // The session holds its own copy.
      exchange.key.fill(0);
    }
    return signedServerHello(client, exchange, session, this.#handshake.privateKey);
  }

  /** Logs and audits the precise reason, and builds the generic 401. */
  protected fail(peer: HandshakePeer, claimed: string | undefined, reason: string): HttpException {
    const claimedText = claimed === undefined ? 'no service' : JSON.stringify(claimed);
    this.failures.record(
      HandshakeEndpointMessages.handshakeFailedLog(peer.address, claimedText, reason),
    );
    this.audit.emit('connection', undefined, {
      action: 'handshake_failed',
      success: false,
      error: reason,
      metadata: {
        peerAddress: peer.address,
        ...(claimed === undefined ? {} : { claimedServiceId: claimed }),
      },
    });
    return new HandshakeFailedException();
  }

  /**
   * A store call of the handshake, limited to `storeTimeout`; its failure is told apart from
   * any other error, which would be a bug.
   */
  protected async storeCall<T>(pending: Promise<T>): Promise<T> {
    try {
      return await withTimeout(pending, this.#handshake.storeTimeout);
    } catch (error) {
      throw new StoreCallError(error);
    }
  }

  /**
   * The 503 for a failed or slow store. The controller adds `Retry-After`: the client should
   * try again shortly, not give up on the peer.
   */
  protected storeUnavailable(cause: unknown): HttpException {
    this.storeFailures.failed(cause);
    return new SessionStoreUnavailableException();
  }

  /**
   * An error that is neither a refused handshake nor a store failure: a bug, logged at `error`
   * as such, with its type, message and stack (handshake errors never carry key material).
   * The caller still gets the 503 (never a 500, never a session).
   */
  protected unexpected(error: unknown): HttpException {
    this.logger.error(
      HandshakeEndpointMessages.handshakeUnexpectedError(
        error instanceof Error ? `${error.name}: ${error.message}` : typeof error,
      ),
      error instanceof Error ? error.stack : undefined,
    );
    return new SessionStoreUnavailableException();
  }
}
