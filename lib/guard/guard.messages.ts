/**
 * Texts of `SessionGuard` besides the session checks' own (those are `SessionMessages` and
 * `SigningMessages`).
 */
export const GuardMessages = {
  /** Error: the guard was used on a kind of handler it cannot read credentials from. */
  unsupportedContext: (type: string): string =>
    `SessionGuard supports HTTP and gRPC handlers only; it cannot check a "${type}" handler (its payload is not a request, and the guard neither reads nor writes it)`,
  /** INVALID_ARGUMENT: a gRPC request message whose bytes could not be decoded. */
  messageUndecodable: (): string => 'Request message cannot be decoded',
  /** Error: a gRPC call was refused, but `@nestjs/microservices` cannot be loaded. */
  microservicesMissing: (): string =>
    'SessionGuard needs @nestjs/microservices to answer gRPC calls: npm install @nestjs/microservices',
} as const;
