import { BadRequestException, Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CurrentSession, SessionGuard, type Session } from 'nestjs-mesh-session';

const MAX_NAME_LENGTH = 100;

/**
 * A route only callers with a live session can reach, with every request signed by its session
 * key: `MeshClient`'s `call('greet', { name })` posts here.
 */
@Controller()
@UseGuards(SessionGuard)
export class GreetController {
  @Post('greet')
  @HttpCode(200)
  greet(
    @CurrentSession() session: Session,
    @Body() body: { name?: unknown } | undefined,
  ): { message: string; serviceId: string } {
    const name = body?.name ?? 'World';
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new BadRequestException(`name must be 1 to ${MAX_NAME_LENGTH} characters`);
    }
    return { message: `Hello, ${name}`, serviceId: session.serviceId };
  }
}
