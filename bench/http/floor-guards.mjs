// The bench's own guards for bench/http/server.mjs: the floors each of the library's modes is
// compared with, and express-session's guard. Each is the plainest code that does what its
// variant's name says; see the variant list at the top of server.mjs.
import { Injectable, UnauthorizedException } from '@nestjs/common';
import { SessionGuard } from '../../dist/index.js';
import { hmacFloor } from '../lib/hmac-floor.mjs';
import { HTTP_INPUT, HTTP_SIGNATURE, verifyFloor } from '../lib/verify-floor.mjs';

/** The session header the bench's requests carry, as SessionGuard reads it by default. */
const SESSION_HEADER = 'x-mesh-session-id';
/** The idle timeout every floor slides a session by (ms), the library's default. */
const IDLE_TIMEOUT = 3_600_000;

/** A guard that lets everything through: what Nest's guard machinery costs by itself. */
export class AllowGuard {
  canActivate() {
    return true;
  }
}
Injectable()(AllowGuard);

/** The guard of the express-session variant: the request must carry a live session. */
export class ExpressSessionGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    if (req.session?.serviceId === undefined) throw new UnauthorizedException('No session');
    return true;
  }
}
Injectable()(ExpressSessionGuard);

/** Sessions the lookup-floor guard knows, by id: the same ones the app's store holds. */
const floorSessions = new Map();

/**
 * Gives the lookup-floor guard a session the app's store holds, as a plain object of its own.
 *
 * @param {{ id: string, serviceId: string, createdAt: number, lastActivity: number,
 *   expiresAt: number }} session a session the store created
 */
export function addFloorSession(session) {
  const { id, serviceId, createdAt, lastActivity, expiresAt } = session;
  floorSessions.set(id, { id, serviceId, createdAt, lastActivity, expiresAt });
}

/** A session id as the library makes them: a lower-case UUID v4. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Where the lookup-floor keeps the session for the handler; no request data can name it. */
const FLOOR_SESSION = Symbol('floorSession');

/**
 * The lookup-floor variant's guard: every step a session-id check must take, each the plainest
 * way. The header is read and its form checked by one regular expression; the session is found
 * by one `Map.get`, checked against the clock and slid; and it is kept for the handler where the
 * library keeps it (Express's `res.locals`, Fastify's request). Left out: `@SkipSession()`,
 * revocation, the rate limit, the store's Promise API and telemetry. A refusal is a 401, as
 * SessionGuard's is.
 */
export class LookupFloorGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    const id = req.headers[SESSION_HEADER];
    if (typeof id !== 'string' || !SESSION_ID.test(id)) {
      throw new UnauthorizedException('Invalid session id');
    }
    const session = floorSessions.get(id);
    const now = Date.now();
    if (session === undefined || session.expiresAt <= now) {
      throw new UnauthorizedException('Session not found or expired');
    }
    session.lastActivity = now;
    session.expiresAt = now + IDLE_TIMEOUT;
    (req.res?.locals ?? req)[FLOOR_SESSION] = session;
    return true;
  }
}
Injectable()(LookupFloorGuard);

/**
 * The hmac-floor variant's guard: SessionGuard in session-id mode, plus one HMAC-SHA256 over a
 * base holding the method, the target URI and the received signature parameters, compared in
 * constant time (its answer ignored), in the same guard so that Nest runs one guard as in
 * signature mode. What no verification of a signed request can skip.
 */
export class HmacFloorGuard extends SessionGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    const input = String(req.headers['signature-input']);
    const base = `"@method": GET\n"@target-uri": http://${req.headers.host}/bench\n"@signature-params": ${input.slice(5)}`;
    hmacFloor(base);
    return super.canActivate(context);
  }
}
Injectable()(HmacFloorGuard);

/**
 * The hmac-twice variant's guard: the hmac-floor guard with its HMAC computed twice over the same
 * base. Against hmac-floor, it shows what a second HMAC adds to a request once the first has
 * brought OpenSSL's code and data into the CPU's caches.
 */
export class HmacTwiceGuard extends SessionGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    const input = String(req.headers['signature-input']);
    const base = `"@method": GET\n"@target-uri": http://${req.headers.host}/bench\n"@signature-params": ${input.slice(5)}`;
    hmacFloor(base);
    hmacFloor(base);
    return super.canActivate(context);
  }
}
Injectable()(HmacTwiceGuard);

/**
 * The verify-floor variant's guard: SessionGuard in session-id mode, plus every step a signature
 * check must take, each the plainest way (see bench/lib/verify-floor.mjs), in the same guard so
 * that Nest runs one guard as in signature mode. A refusal is a 401, as signature mode's is.
 */
export class VerifyFloorGuard extends SessionGuard {
  canActivate(context) {
    const req = context.switchToHttp().getRequest();
    const input = HTTP_INPUT.exec(req.headers['signature-input']);
    const signature = HTTP_SIGNATURE.exec(req.headers.signature);
    if (input === null || signature === null || input[1] !== signature[1]) {
      throw new UnauthorizedException('Malformed signature');
    }
    const base = `"@method": ${req.method}\n"@target-uri": http://${req.headers.host}${req.url}\n"@signature-params": ${input[2]}`;
    const refused = verifyFloor(input[3], input[4], base, signature[2]);
    if (refused !== undefined) throw new UnauthorizedException(refused);
    return super.canActivate(context);
  }
}
Injectable()(VerifyFloorGuard);

/**
 * The redis-floor's one command: what a sliding check must do in Redis, the plainest way. It
 * reads the session's stored fields (service, sealed key, creation, last activity, expiry),
 * refuses an expired one, writes the new times, slides the key's TTL, and returns the fields.
 */
const FLOOR_SCRIPT = `
local f = redis.call('HMGET', KEYS[1], 'v', 'k', 'c', 'l', 'e')
if not f[5] or tonumber(f[5]) <= tonumber(ARGV[1]) then return false end
redis.call('HSET', KEYS[1], 'l', ARGV[1], 'e', string.format('%.0f', tonumber(ARGV[1]) + tonumber(ARGV[2])))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return f
`;

/**
 * A 32-byte session key as the Redis store keeps it sealed: an 8-character key id, a dot, and
 * the base64 of the IV, the sealed key and the tag (12 + 32 + 16 bytes).
 */
const SEALED_KEY_LENGTH = 89;

/**
 * The redis-floor variant's guard class: SessionGuard in session-id mode on the memory store,
 * plus one round trip to Redis through ioredis (an `EVALSHA` of FLOOR_SCRIPT on a session record
 * stored as the library stores one: a hash with a sealed key of the same size), awaited, in the
 * same guard so that Nest runs one guard as on the Redis store. What no check on a Redis store
 * can skip.
 *
 * @param {import('ioredis').Redis} redis the floor's own client
 * @returns {Promise<Function>} the guard class
 */
export async function redisFloorGuard(redis) {
  const key = `bench-floor-${process.pid}`;
  const now = Date.now();
  await redis.hset(key, {
    v: 'caller',
    k: 'k'.repeat(SEALED_KEY_LENGTH),
    c: now,
    l: now,
    e: now + IDLE_TIMEOUT,
  });
  await redis.pexpire(key, IDLE_TIMEOUT);
  const sha = await redis.script('LOAD', FLOOR_SCRIPT);
  class RedisFloorGuard extends SessionGuard {
    async canActivate(context) {
      const fields = await redis.evalsha(sha, 1, key, Date.now(), IDLE_TIMEOUT);
      if (fields === null) throw new UnauthorizedException('Session not found or expired');
      return super.canActivate(context);
    }
  }
  Injectable()(RedisFloorGuard);
  return RedisFloorGuard;
}
