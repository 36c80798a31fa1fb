import { useDefaultSessionStore } from './core/default-session-store.js';
import { MemorySessionStore } from './stores/memory/memory-session.store.js';

// `new SessionManager(sessionTimeout)` outside Nest gets a memory store: the core names no
// store, so the package entry gives it one.
useDefaultSessionStore(() => new MemorySessionStore());
