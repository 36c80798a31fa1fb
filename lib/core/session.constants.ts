/**
 * Length in bytes of a session key (AES-256).
 */
export const SESSION_KEY_LENGTH = 32;

/**
 * Longest accepted service id, in characters.
 */
export const MAX_SERVICE_ID_LENGTH = 255;
