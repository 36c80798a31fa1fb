/** The parts of an Express or Fastify request the guard reads. */
export interface SessionGuardRequest {
  headers: Record<string, string | string[] | undefined>;
  /** Signature mode: the request line, scheme and raw body (`rawBody: true`). */
  method?: string;
  url?: string;
  originalUrl?: string;
  protocol?: string;
  /** Whether the connection is TLS: the scheme when no proxy forwards one. */
  socket?: { readonly encrypted?: boolean };
  rawBody?: Buffer;
}

/** The part of an Express response or Fastify reply the guard writes. */
export interface SessionGuardResponse {
  header(name: string, value: string): unknown;
}
