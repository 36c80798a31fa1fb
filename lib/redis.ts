export { RedisSessionStore } from './stores/redis/redis-session.store.js';
export {
  REDIS_SESSION_STORE_DEFAULTS,
  type RedisSessionStoreOptions,
} from './stores/redis/redis-session-store.options.js';
