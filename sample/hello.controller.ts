import {
  BadGatewayException,
  BadRequestException,
  Controller,
  Get,
  HttpException,
  Query,
} from '@nestjs/common';
import {
  MeshClient,
  MeshClientError,
  MeshGrpcCallError,
  MeshRequestError,
} from 'nestjs-mesh-session';
import type { Greeting } from './greeting.js';

// gRPC's INVALID_ARGUMENT: the greeter refused the input.
const INVALID_ARGUMENT = 3;

/** The caller's public routes: they ask the greeter through MeshClient. */
@Controller('hello')
export class HelloController {
  constructor(private readonly mesh: MeshClient) {}

  /** Over HTTP: `POST /greet` on the greeter, signed. */
  @Get()
  hello(@Query('name') name: unknown = 'World'): Promise<Greeting> {
    // Handshakes on first use, then signs every call with the session key.
    return this.ask(() => this.mesh.connect('greeter').call<Greeting>('greet', { name }), name);
  }

  /** Over gRPC: `greeter.v1.Greeter/Greet`, signed. */
  @Get('grpc')
  helloGrpc(@Query('name') name: unknown = 'World'): Promise<Greeting> {
    return this.ask(
      () => this.mesh.connect('greeter-grpc').call<Greeting>('Greet', { name }),
      name,
    );
  }

  private async ask(call: () => Promise<Greeting>, name: unknown): Promise<Greeting> {
    if (typeof name !== 'string') throw new BadRequestException('name must be a single string');
    try {
      return await call();
    } catch (error) {
      // The greeter's own refusal of the input is passed on; anything else is its fault.
      if (error instanceof MeshGrpcCallError && error.code === INVALID_ARGUMENT) {
        throw new BadRequestException(error.details);
      }
      if (error instanceof MeshRequestError && error.status === 400) {
        throw new HttpException(error.body as object, 400);
      }
      if (error instanceof MeshClientError) throw new BadGatewayException(error.message);
      throw error;
    }
  }
}
