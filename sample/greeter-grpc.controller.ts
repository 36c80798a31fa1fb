import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod, Payload, RpcException } from '@nestjs/microservices';
import { CurrentSession, SessionGuard, type Session } from 'nestjs-mesh-session';
import { greetingName, type Greeting } from './greeting.js';

// gRPC's INVALID_ARGUMENT: the caller's input is refused, as a 400 is over HTTP.
const INVALID_ARGUMENT = 3;

/**
 * `greeter.v1.Greeter/Greet` over gRPC: the same greeting as `POST /greet`, behind the same
 * guard, with every call signed by its session key. `MeshClient`'s
 * `call('Greet', { name })` on a gRPC service calls it.
 */
@Controller()
@UseGuards(SessionGuard)
export class GreeterGrpcController {
  @GrpcMethod('Greeter', 'Greet')
  greet(@Payload() request: { name?: unknown }, @CurrentSession() session: Session): Greeting {
    const name = greetingName(request.name);
    if (typeof name !== 'string') {
      throw new RpcException({ code: INVALID_ARGUMENT, message: name.refused });
    }
    return { message: `Hello, ${name}`, serviceId: session.serviceId };
  }
}
