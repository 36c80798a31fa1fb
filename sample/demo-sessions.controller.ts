import { randomBytes } from 'node:crypto';
import { BadRequestException, Body, Controller, HttpCode, Post } from '@nestjs/common';
import { SessionManager } from 'nestjs-mesh-session';

/**
 * DEMO STAND-IN for the service-to-service handshake (a later release creates sessions through
 * an authenticated handshake). Anyone who can reach this route gets a session: never expose it
 * in production. The key is generated here and never returned.
 */
@Controller('demo/sessions')
export class DemoSessionsController {
  constructor(private readonly sessions: SessionManager) {}

  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown): Promise<{ sessionId: string; expiresAt: number }> {
    const serviceId = (body as { serviceId?: unknown } | undefined)?.serviceId;
    if (typeof serviceId !== 'string' || serviceId.length === 0 || serviceId.length > 255) {
      throw new BadRequestException('serviceId must be a string of 1 to 255 characters');
    }
    const session = await this.sessions.createSession(serviceId, randomBytes(32));
    return { sessionId: session.id, expiresAt: session.expiresAt };
  }
}
