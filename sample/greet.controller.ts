import { BadRequestException, Controller, Get, Query, UseGuards } from '@nestjs/common';
import { CurrentSession, SessionGuard, type Session } from 'nestjs-mesh-session';

const MAX_NAME_LENGTH = 100;

/** A route only callers with a live session can reach. */
@Controller()
@UseGuards(SessionGuard)
export class GreetController {
  @Get('greet')
  greet(
    @CurrentSession() session: Session,
    @Query('name') name: unknown = 'World',
  ): { message: string; serviceId: string } {
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
      throw new BadRequestException(`name must be 1 to ${MAX_NAME_LENGTH} characters`);
    }
    return { message: `Hello, ${name}`, serviceId: session.serviceId };
  }
}
