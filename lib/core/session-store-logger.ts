/**
 * What a store logs through: Nest's `Logger`, `console` and most loggers fit.
 */
export interface SessionStoreLogger {
  /** An event worth knowing, such as a connection restored. */
  log(message: string): unknown;
  /** A problem, such as a connection lost. */
  warn(message: string): unknown;
}

/**
 * A logger that writes to the console, each line prefixed with `[context]`: what a store logs
 * through until it is given another.
 *
 * @param context the name in the prefix, usually the store's class name
 */
export function consoleLogger(context: string): SessionStoreLogger {
  return {
    log: (message) => console.log(`[${context}] ${message}`),
    warn: (message) => console.warn(`[${context}] ${message}`),
  };
}
