import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HandshakeMiddleware } from './handshake.middleware.js';

/** The part of Nest's HTTP adapter this needs. */
interface HttpAdapterLike {
  getType(): string;
  use(handler: (...args: never[]) => unknown): unknown;
}

/**
 * On Express, the app's body parsers run before any middleware: a hello sent as JSON that is
 * not JSON, or one over the parser's size limit, would get the parser's own 400 or 413. This
 * routes those errors, on the handshake path only, to the endpoint, which answers them as any
 * bad hello (the generic 401, counted against the handshake limits). Other routes keep the
 * app's own answers. Fastify needs nothing: its middleware runs before body parsing, so the
 * endpoint reads the raw bytes whatever the Content-Type.
 *
 * @param adapter the app's HTTP adapter
 * @param globalPrefix the app's global prefix, possibly empty
 * @param path the handshake path
 * @param endpoint the endpoint that answers
 * @example
 * ```ts
 * routeBodyParserErrors(httpAdapter, 'api', '/mesh/handshake', middleware);
 * ```
 */
export function routeBodyParserErrors(
  adapter: HttpAdapterLike | undefined,
  globalPrefix: string,
  path: string,
  endpoint: HandshakeMiddleware,
): void {
  if (adapter?.getType() !== 'express') return;
  const fullPath = `/${[globalPrefix, path]
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/')}`;
  // Four parameters: Express calls it only with an error, such as a body parser's.
  const handler = (
    error: { type?: unknown },
    request: IncomingMessage & { path?: string },
    response: ServerResponse,
    next: (error: unknown) => void,
  ): void => {
    if (request.method !== 'POST' || request.path !== fullPath) return next(error);
    void endpoint.rejectUnparsedBody(error ?? {}, request as never, response);
  };
  adapter.use(handler as never);
}
