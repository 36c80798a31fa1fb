import { HttpException, HttpStatus, UnauthorizedException } from '@nestjs/common';
import { HandshakeEndpointMessages } from './handshake-endpoint.messages.js';

/**
 * 401 for every failed handshake, whatever the reason: `Handshake failed`. The precise reason
 * is in the log and in the `handshake_failed` audit event.
 */
export class HandshakeFailedException extends UnauthorizedException {
  constructor() {
    super(HandshakeEndpointMessages.handshakeFailed());
  }
}

/**
 * 429 from the handshake endpoint: this peer address opened too many handshakes.
 */
export class HandshakeRateLimitException extends HttpException {
  /** @param retryAfter seconds the caller should wait, sent as `Retry-After` */
  constructor(readonly retryAfter = 1) {
    super(HandshakeEndpointMessages.handshakeRateLimited(), HttpStatus.TOO_MANY_REQUESTS);
  }
}
