/**
 * Texts of `SessionGuard` that are not answers to callers.
 */
export const GuardMessages = {
  /** Startup error: the guard was used on a kind of handler it cannot read credentials from. */
  unsupportedContext: (type: string): string =>
    `SessionGuard supports HTTP handlers only; it cannot check a "${type}" handler (its payload is not a request, and the guard neither reads nor writes it)`,
} as const;
