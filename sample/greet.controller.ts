import { BadRequestException, Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { CurrentSession, SessionGuard, type Session } from 'nestjs-mesh-session';
import { greetingName, type Greeting } from './greeting.js';

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
  ): Greeting {
    const name = greetingName(body?.name);
    if (typeof name !== 'string') throw new BadRequestException(name.refused);
    return { message: `Hello, ${name}`, serviceId: session.serviceId };
  }
}
