import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, Injectable, type NestMiddleware } from '@nestjs/common';
import { MAX_HANDSHAKE_BODY_BYTES } from '../protocol/handshake/handshake.constants.js';
import { HandshakeError } from '../protocol/handshake/handshake.error.js';
import { HandshakeMessages } from '../protocol/handshake/handshake.messages.js';
import { STORE_UNAVAILABLE_RETRY_AFTER } from '../guard/session-guard.constants.js';
import { SessionStoreUnavailableException } from '../guard/session.exceptions.js';
import type { SessionGuardRequest } from '../guard/session-guard-request.js';
import { SessionGuard } from '../guard/session.guard.js';
import { peerAddressOf, readHandshakeBody, type HandshakeHttpRequest } from './handshake-body.js';
import { HandshakeRateLimitException } from './handshake.exceptions.js';
import { HandshakeService } from './handshake.service.js';

/** The request as the endpoint sees it, on Express or (raw) on Fastify. */
type HandshakeRequest = IncomingMessage & HandshakeHttpRequest & SessionGuardRequest;

/**
 * Serves the handshake at `handshake.path`: `POST` opens a session, a signed `DELETE` ends the
 * caller's session. `MeshSessionModule` mounts it as middleware on that path once its options
 * are resolved, so the path may come from an async factory and no route metadata is changed;
 * the app's global prefix applies as to any route. Requests to other methods pass on (a 404).
 *
 * | request | answer |
 * |---|---|
 * | a valid hello | 201 with the signed server hello, `Cache-Control: no-store` |
 * | anything else | 401 `Handshake failed` (the reason is only logged and audited) |
 * | over a limit (see `HandshakeLimiter`) | 429 `Too many handshakes` with `Retry-After` |
 * | store failure or timeout | 503 with `Retry-After: 1` |
 * | signed `DELETE` | 204, the session ended; the guard's answers otherwise |
 *
 * @example
 * ```ts
 * // Mounted by the module: MeshSessionModule.forRoot({ serviceId, handshake: { ... } })
 * ```
 */
@Injectable()
export class HandshakeMiddleware implements NestMiddleware<HandshakeRequest, ServerResponse> {
  /**
   * @param handshakes the server side of the handshake
   * @param guard checks the signed `DELETE`
   */
  constructor(
    protected readonly handshakes: HandshakeService,
    protected readonly guard: SessionGuard,
  ) {}

  /**
   * Answers `POST` and `DELETE`; passes anything else on.
   *
   * @throws {HandshakeFailedException} 401 for a failed handshake
   * @throws {HandshakeRateLimitException} 429 over a handshake limit
   * @throws {SessionStoreUnavailableException} 503 when the store fails or is slow
   */
  async use(request: HandshakeRequest, response: ServerResponse, next: () => void): Promise<void> {
    if (request.method === 'POST') return this.open(request, response);
    if (request.method === 'DELETE') return this.close(request, response);
    next();
  }

  /**
   * Answers a hello that the app's own body parser refused (Express parses JSON and form bodies
   * before any middleware runs): the same generic 401, limits and log as any bad hello, rather
   * than the parser's 400 or 413. The module routes parser errors on the handshake path here.
   *
   * @param cause the parser's error (`type` is body-parser's, such as `entity.parse.failed`)
   * @param request the request
   * @param response the response, written here
   */
  async rejectUnparsedBody(
    cause: { type?: unknown },
    request: HandshakeRequest,
    response: ServerResponse,
  ): Promise<void> {
    const reason =
      cause.type === 'entity.too.large'
        ? HandshakeMessages.handshakeBodyTooLarge(MAX_HANDSHAKE_BODY_BYTES)
        : cause.type === 'entity.parse.failed'
          ? HandshakeMessages.handshakeNotJson()
          : HandshakeMessages.handshakeBodyUnreadable();
    try {
      await this.open(request, response, new HandshakeError(reason));
    } catch (error) {
      const status = error instanceof HttpException ? error.getStatus() : 503;
      const body =
        error instanceof HttpException
          ? error.getResponse()
          : new SessionStoreUnavailableException().getResponse();
      response.statusCode = status;
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(body));
    }
  }

  /** Runs a handshake and sends the server hello. */
  protected async open(
    request: HandshakeRequest,
    response: ServerResponse,
    unreadable?: HandshakeError,
  ): Promise<void> {
    response.setHeader('Cache-Control', 'no-store');
    const peer = { address: peerAddressOf(request), transport: 'http' as const };
    try {
      const hello = await this.handshakes.accept(
        unreadable ?? (await readHandshakeBody(request)),
        peer,
      );
      response.statusCode = 201;
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(hello));
    } catch (error) {
      // As the guard does: a client retries a 503 shortly instead of giving up on the peer.
      if (error instanceof SessionStoreUnavailableException) {
        response.setHeader('Retry-After', String(STORE_UNAVAILABLE_RETRY_AFTER));
      } else if (error instanceof HandshakeRateLimitException) {
        response.setHeader('Retry-After', String(error.retryAfter));
      }
      throw error;
    }
  }

  /** Ends the session the request is signed with. */
  protected async close(request: HandshakeRequest, response: ServerResponse): Promise<void> {
    const session = await this.guard.authenticate(request, {
      header: (name, value) => response.setHeader(name, value),
    });
    await this.handshakes.end(session);
    response.statusCode = 204;
    response.end();
  }
}
