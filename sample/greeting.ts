import { fileURLToPath } from 'node:url';

/** The sample greeter's `.proto` (`greeter.v1.Greeter`), read by both services. */
export const GREETER_PROTO = fileURLToPath(new URL('../sample/greeter.proto', import.meta.url));

/** A greeting, over HTTP or gRPC. */
export interface Greeting {
  message: string;
  serviceId: string;
}

const MAX_NAME_LENGTH = 100;

/**
 * The name to greet, checked the same way on both transports.
 *
 * @param name the caller's value (`World` when absent)
 * @returns the name, or the reason it is refused
 */
export function greetingName(name: unknown): string | { refused: string } {
  const value = name ?? 'World';
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    return { refused: `name must be 1 to ${MAX_NAME_LENGTH} characters` };
  }
  return value;
}
