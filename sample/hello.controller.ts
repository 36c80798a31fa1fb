import {
  BadGatewayException,
  BadRequestException,
  Controller,
  Get,
  HttpException,
  Query,
} from '@nestjs/common';
import { MeshClient, MeshClientError, MeshRequestError } from 'nestjs-mesh-session';

interface Greeting {
  message: string;
  serviceId: string;
}

/** The caller's public route: it asks the greeter through MeshClient. */
@Controller()
export class HelloController {
  constructor(private readonly mesh: MeshClient) {}

  @Get('hello')
  async hello(@Query('name') name: unknown = 'World'): Promise<Greeting> {
    if (typeof name !== 'string') throw new BadRequestException('name must be a single string');
    try {
      // Handshakes on first use, then signs every call with the session key.
      return await this.mesh.connect('greeter').call<Greeting>('greet', { name });
    } catch (error) {
      // The greeter's own refusal of the input is passed on; anything else is its fault.
      if (error instanceof MeshRequestError && error.status === 400) {
        throw new HttpException(error.body as object, 400);
      }
      if (error instanceof MeshClientError) throw new BadGatewayException(error.message);
      throw error;
    }
  }
}
