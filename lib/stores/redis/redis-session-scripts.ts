import { createHash } from 'node:crypto';
import { REDIS_HASH_LENGTH } from './redis-key-layout.js';

/** A Lua script and its SHA-1, for `EVALSHA` with an `EVAL` fallback. */
export interface RedisScript {
  /** Name used in error messages. */
  readonly name: string;
  /** Lua source. */
  readonly source: string;
  /** SHA-1 of the source, as Redis names the script. */
  readonly sha: string;
}

/*
 * Conventions shared by the scripts:
 * - a session record is a hash: v serviceId, w sha256(serviceId), k sealed key, i sealed id,
 *   c createdAt, l lastActivity, e expiresAt, m '1' when metadata is set, and one field
 *   'm.<name>' per metadata entry holding its JSON;
 * - the partition's expiry index is the declared key ending in 'x'; the partition prefix
 *   (hash tag included) is that key without its last character, so keys built from it stay in
 *   the declared key's slot, and an ioredis `keyPrefix` on the client is kept;
 * - an index member is sha256(id) .. sha256(serviceId), both base64url; its score is the
 *   session's expiresAt when it was filed, a lower bound: a touch does not move it (that keeps
 *   the guard's script short), and cleanup (or a count) re-files a session it finds still live;
 *   a count scores 0 an entry whose session it finds expired, so that later counts skip it
 *   (they look at scores above 0) while cleanup still removes it (it looks from -inf);
 * - times are integer milliseconds, formatted with %.0f so they never turn into exponents;
 * - no script calls redis.setresp(), so its reply keeps the RESP2 conversions (a Lua false or
 *   nil is a null, a table an array) on a RESP3 connection too, as ioredis 6 opens by default.
 */
const FIELD = `
local function field(r, name)
  for i = 1, #r, 2 do
    if r[i] == name then return r[i + 1] end
  end
  return nil
end
`;

const HSET_PAIRS = `
local function hsetPairs(key, from)
  -- in chunks, so a large patch never overflows Lua's stack through unpack()
  local i = from
  while i <= #ARGV do
    local j = math.min(i + 199, #ARGV)
    redis.call('HSET', key, unpack(ARGV, i, j))
    i = j + 1
  end
end
`;

/*
 * touch's body: slide(record, index, now, idleTimeout, maxLifetime or '', hid) returns nil for
 * no record; otherwise {live, expiresAt, v, k, c, l[, record]}: live is 0 after removing an
 * expired session (expiresAt is then the one it had), 1 after sliding a live one (expiresAt is
 * the new one); v, k, c and l are the stored fields, read before the slide; the whole record
 * follows only when the session has metadata (its 'm.<name>' fields are in it).
 */
const SLIDE = `
local function slide(key, index, nowArg, idle, maxLifetime, hid)
  local f = redis.call('HMGET', key, 'v', 'k', 'c', 'l', 'e', 'w', 'm')
  if not f[5] then return nil end
  local c = tonumber(f[3])
  local e = tonumber(f[5])
  local w = f[6]
  local now = tonumber(nowArg)
  local ne = now + tonumber(idle)
  if maxLifetime ~= '' then
    local cap = c + tonumber(maxLifetime)
    if cap < ne then ne = cap end
  end
  local out
  if e <= now or ne <= now then
    out = {0, string.format('%.0f', math.min(e, ne)), f[1], f[2], f[3], f[4]}
    if f[7] then out[7] = redis.call('HGETALL', key) end
    redis.call('DEL', key)
    redis.call('ZREM', index, hid .. w)
    redis.call('SREM', string.sub(index, 1, -2) .. 'v:' .. w, hid)
    return out
  end
  local nes = string.format('%.0f', ne)
  out = {1, nes, f[1], f[2], f[3], f[4]}
  if f[7] then out[7] = redis.call('HGETALL', key) end
  redis.call('HSET', key, 'l', nowArg, 'e', nes)
  redis.call('PEXPIRE', key, string.format('%.0f', ne - now))
  return out
end
`;

function script(name: string, source: string): RedisScript {
  const trimmed = source.trim();
  return { name, source: trimmed, sha: createHash('sha1').update(trimmed).digest('hex') };
}

/**
 * The store's Lua scripts. Each one touches a single partition (one Cluster slot) and runs
 * atomically, so an index never disagrees with the records it points to.
 */
export const RedisSessionScripts = {
  /**
   * KEYS: record, index, service set. ARGV: hid, member, expiresAt, ttlMs, field, value, ...
   * Returns 1, or 0 when a record with this id exists.
   */
  create: script(
    'create',
    `
${HSET_PAIRS}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
hsetPairs(KEYS[1], 5)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
return 1
`,
  ),

  /**
   * The guard's one round trip. KEYS: record, index. ARGV: now, idleTimeout, maxLifetime or
   * '', hid. Returns nil for no record; {0, expiresAt, v, k, c, l[, record]} after removing an
   * expired one; {1, newExpiresAt, v, k, c, l[, record]} after sliding a live one (its stored
   * `l` is then `now`, and its TTL follows the new expiresAt). The record comes only with
   * metadata.
   */
  touch: script(
    'touch',
    `
${SLIDE}
return slide(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4]) or false
`,
  ),

  /** KEYS: record. ARGV: now. Returns the record of a live session, or nil. */
  get: script(
    'get',
    `
${FIELD}
local r = redis.call('HGETALL', KEYS[1])
if #r == 0 or tonumber(field(r, 'e')) <= tonumber(ARGV[1]) then return false end
return r
`,
  ),

  /**
   * Signature mode's write, run once the signature has verified. KEYS: record, index, nonce
   * (all in the session's slot). ARGV: now, idleTimeout, maxLifetime or '', hid, nonce ttlMs.
   * Claims the nonce (SET NX PX); only when it was fresh, slides the session as `touch` does.
   * Returns {0} for a nonce already claimed; {1} when it was fresh and there is no record;
   * {1, ...what touch returns} otherwise.
   */
  claimNonceAndTouch: script(
    'claimNonceAndTouch',
    `
${SLIDE}
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5]) then return {0} end
local t = slide(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if not t then return {1} end
table.insert(t, 1, 1)
return t
`,
  ),

  /**
   * KEYS: record. ARGV: now, 'm.<name>', json, ... Merges the entries into a live session's
   * metadata. Returns the updated record, or nil.
   */
  updateMetadata: script(
    'updateMetadata',
    `
${HSET_PAIRS}
local e = redis.call('HGET', KEYS[1], 'e')
if not e or tonumber(e) <= tonumber(ARGV[1]) then return false end
redis.call('HSET', KEYS[1], 'm', '1')
hsetPairs(KEYS[1], 2)
return redis.call('HGETALL', KEYS[1])
`,
  ),

  /** KEYS: record, index. ARGV: hid. Removes the session. Returns its record, or nil. */
  delete: script(
    'delete',
    `
${FIELD}
local r = redis.call('HGETALL', KEYS[1])
if #r == 0 then return false end
local w = field(r, 'w')
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. w)
redis.call('SREM', string.sub(KEYS[2], 1, -2) .. 'v:' .. w, ARGV[1])
return r
`,
  ),

  /**
   * KEYS: service set, index. ARGV: serviceHash, batch. Removes up to `batch` sessions of the
   * service in this partition. Returns {removed, popped}; call again while popped == batch.
   */
  deleteService: script(
    'deleteService',
    `
local ids = redis.call('SPOP', KEYS[1], ARGV[2])
local base = string.sub(KEYS[2], 1, -2)
local n = 0
for _, hid in ipairs(ids) do
  redis.call('DEL', base .. 's:' .. hid)
  n = n + redis.call('ZREM', KEYS[2], hid .. ARGV[1])
end
return {n, #ids}
`,
  ),

  /**
   * KEYS: index. ARGV: now, batch. Visits up to `batch` index entries due by `now`: a session
   * that was slid since it was filed is re-filed under its current expiresAt; any other goes,
   * with whatever is left of its record and its service-set entry. Returns {removed, visited};
   * call again while visited == batch. Concurrent runs never count an entry twice: only the
   * run whose ZREM removed it counts it.
   */
  deleteExpired: script(
    'deleteExpired',
    `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local base = string.sub(KEYS[1], 1, -2)
local now = tonumber(ARGV[1])
local n = 0
for _, m in ipairs(due) do
  local hid = string.sub(m, 1, ${REDIS_HASH_LENGTH})
  local key = base .. 's:' .. hid
  local e = redis.call('HGET', key, 'e')
  if e and tonumber(e) > now then
    redis.call('ZADD', KEYS[1], e, m)
  else
    redis.call('DEL', key)
    n = n + redis.call('ZREM', KEYS[1], m)
    redis.call('SREM', base .. 'v:' .. string.sub(m, ${REDIS_HASH_LENGTH + 1}), hid)
  end
end
return {n, #due}
`,
  ),

  /**
   * KEYS: index. ARGV: now, batch. Visits up to `batch` index entries scored in (0, now] and
   * files each as `deleteExpired` would, removing nothing: a session slid since it was filed is
   * re-filed under its current expiresAt, any other entry is scored 0. Returns {live, visited},
   * where live is how many entries are scored after `now`: the partition's live sessions once
   * visited < batch (call again while visited == batch).
   */
  count: script(
    'count',
    `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '(0', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local base = string.sub(KEYS[1], 1, -2)
local now = tonumber(ARGV[1])
for _, m in ipairs(due) do
  local e = redis.call('HGET', base .. 's:' .. string.sub(m, 1, ${REDIS_HASH_LENGTH}), 'e')
  if e and tonumber(e) > now then
    redis.call('ZADD', KEYS[1], e, m)
  else
    redis.call('ZADD', KEYS[1], 0, m)
  end
end
return {redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf'), #due}
`,
  ),

  /**
   * KEYS: service set, index. ARGV: now, cursor, count. One SSCAN step over the service's
   * sessions in this partition. Returns {nextCursor, hid, record, hid, record, ...} for the
   * live ones.
   */
  findService: script(
    'findService',
    `
${FIELD}
local res = redis.call('SSCAN', KEYS[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
local base = string.sub(KEYS[2], 1, -2)
local now = tonumber(ARGV[1])
local out = {res[1]}
for _, hid in ipairs(res[2]) do
  local r = redis.call('HGETALL', base .. 's:' .. hid)
  if #r > 0 and tonumber(field(r, 'e')) > now then
    out[#out + 1] = hid
    out[#out + 1] = r
  end
end
return out
`,
  ),
} as const;
