import {
  Controller,
  Delete,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
  UseGuards,
  type Type,
} from '@nestjs/common';
import { CurrentSession } from '../guard/current-session.decorator.js';
import { SessionStoreUnavailableException } from '../guard/session.exceptions.js';
import { SessionGuard } from '../guard/session.guard.js';
import { SkipSession } from '../guard/skip-session.decorator.js';
import { STORE_UNAVAILABLE_RETRY_AFTER } from '../guard/session-guard.constants.js';
import type { Session } from '../core/session.interface.js';
import { peerAddressOf, readHandshakeBody, type HandshakeHttpRequest } from './handshake-body.js';
import { HandshakeRateLimitException } from './handshake.exceptions.js';
import type { ServerHello } from '../protocol/handshake/handshake.protocol.js';
import { HandshakeService } from './handshake.service.js';

/** The part of an Express response or Fastify reply the endpoint writes. */
interface HandshakeHttpResponse {
  header(name: string, value: string): unknown;
}

/**
 * Builds the controller that serves the handshake: `POST` opens a session, a signed `DELETE`
 * ends the caller's session. Each module registration gets its own class, because its path
 * (`handshake.path`) is only known once the options are resolved, possibly asynchronously:
 * the module sets it before Nest registers the routes.
 *
 * @returns a controller class
 */
export function createHandshakeController(): Type<unknown> {
  @Controller()
  class HandshakeController {
    constructor(private readonly handshakes: HandshakeService) {}

    /**
     * Runs the handshake. The client hello is JSON sent as `text/plain`.
     *
     * @throws {HandshakeFailedException} 401 `Handshake failed`
     * @throws {HandshakeRateLimitException} 429 over the per-address limit
     * @throws {SessionStoreUnavailableException} 503 with `Retry-After: 1` when the store (or
     *   the rate limiter's backend) fails or is slow, or on an unexpected error
     */
    @SkipSession()
    @Post()
    @HttpCode(HttpStatus.CREATED)
    async open(
      @Req() request: HandshakeHttpRequest,
      @Res({ passthrough: true }) response: HandshakeHttpResponse,
    ): Promise<ServerHello> {
      response.header('Cache-Control', 'no-store');
      const peer = { address: peerAddressOf(request) };
      try {
        const retryAfter = await this.handshakes.checkRateLimit(peer);
        if (retryAfter !== undefined) {
          response.header('Retry-After', String(retryAfter));
          throw new HandshakeRateLimitException();
        }
        return await this.handshakes.accept(await readHandshakeBody(request), peer);
      } catch (error) {
        // As the guard does: a client retries a 503 shortly instead of giving up on the peer.
        if (error instanceof SessionStoreUnavailableException) {
          response.header('Retry-After', String(STORE_UNAVAILABLE_RETRY_AFTER));
        }
        throw error;
      }
    }

    /** Ends the session the request is signed with. */
    @UseGuards(SessionGuard)
    @Delete()
    @HttpCode(HttpStatus.NO_CONTENT)
    async close(@CurrentSession() session: Session): Promise<void> {
      await this.handshakes.end(session);
    }
  }
  return HandshakeController;
}
