/**
 * Lua scripts of the Redis store. Each runs atomically on the server, which is what makes
 * "bump the version, persist the document, append to the log" one step that no other writer can
 * interleave with. All keys share one hash tag (`{vigil}` by default) so they work on Redis Cluster.
 */

/**
 * KEYS: version, log, head, epoch, then the document keys (`DOC_KEY_ORDER`). ARGV: the head hash
 * the writer built on, entry JSON, stream max length, the least new version, then
 * `[op, keyIndex, field, value]` quads (`S` HSET, `D` HDEL) from `encodePatch`.
 * Returns {1, newVersion, newHead}, or {0, currentVersion, why} when the store's history is not
 * the one the writer built on ('moved': another writer got there first; 'no_epoch': the store
 * was emptied) — in which case nothing was written. The entry's hash chains it to the one before
 * (see `chain.ts`; the same formula).
 */
export const APPLY = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = redis.call('GET', KEYS[4])
if not epoch then return {0, current, 'no_epoch'} end
local head = redis.call('GET', KEYS[3]) or epoch
if head ~= ARGV[1] then return {0, current, 'moved'} end
for i = 5, #ARGV, 4 do
  local key = KEYS[5 + tonumber(ARGV[i + 1])]
  if ARGV[i] == 'S' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  else
    redis.call('HDEL', key, ARGV[i + 2])
  end
end
local nextVersion = math.max(current + 1, tonumber(ARGV[4]))
local hash = redis.sha1hex(head .. '\\n' .. nextVersion .. '\\n' .. ARGV[2])
redis.call('SET', KEYS[1], nextVersion)
redis.call('SET', KEYS[3], hash)
-- Approximate trimming is cheaper; short logs (tests, tiny deployments) trim exactly.
local trim = '~'
if tonumber(ARGV[3]) < 1000 then trim = '=' end
redis.call('XADD', KEYS[2], 'MAXLEN', trim, ARGV[3], nextVersion .. '-0', 'e', ARGV[2], 'p', head, 'h', hash)
return {1, nextVersion, hash}
`

/**
 * KEYS: version, epoch, head, then the document keys. Returns {version, epoch, head, HGETALL of
 * each}, one consistent read. `epoch` is false when the store has none.
 */
export const READ = `
local out = { redis.call('GET', KEYS[1]) or '0', redis.call('GET', KEYS[2]) or false }
out[3] = redis.call('GET', KEYS[3]) or out[2]
for i = 4, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out
`

/**
 * KEYS: epoch, head. ARGV: a fresh epoch. Creates the store's epoch when it has none (a new
 * store, or one that was emptied: its history restarts from the new epoch). Returns the epoch.
 */
export const INIT_EPOCH = `
local epoch = redis.call('GET', KEYS[1])
if epoch then return epoch end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1])
return ARGV[1]
`

/**
 * KEYS: keys hash, current kid, retirements hash. ARGV: the kid to make the signer when there is
 * none, then `[kid, key JSON, retireAt or '']` triples. Writes only the keys the store lacks.
 * Returns how many it wrote.
 */
export const RESTORE_KEYS = `
local written = 0
for i = 2, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    written = written + 1
    if ARGV[i + 2] ~= '' then redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 2]) end
  end
end
if ARGV[1] ~= '' and redis.call('EXISTS', KEYS[2]) == 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[1])
end
return written
`

/** KEYS: keys hash, current kid. ARGV: kid, key JSON. Returns 1 when this key became the signer. */
export const INIT_KEY = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
return 1
`

/** KEYS: keys hash, current kid, retirements hash. ARGV: kid, key JSON, previous key's retireAt. */
export const ROTATE_KEY = `
local previous = redis.call('GET', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
if previous and previous ~= ARGV[1] then redis.call('HSET', KEYS[3], previous, ARGV[3]) end
return 1
`

/**
 * KEYS: the session's refresh family hash. ARGV: family-secret hash, presented token hash, next
 * token hash, now ms, new exp ms, new iat s. Returns {status, static JSON, generation, iat, exp};
 * status is ok | unknown | family_revoked | reused | expired. The family is the only state: a
 * token that proves the family but is not the live one is a spent one replayed, and revokes it.
 */
export const ROTATE_REFRESH = `
local h = redis.call('HMGET', KEYS[1], 'static', 'family', 'token', 'gen', 'iat', 'exp', 'revoked')
if not h[1] or h[2] ~= ARGV[1] then return {'unknown'} end
if h[7] == '1' then return {'family_revoked', h[1], h[4], h[5], h[6]} end
if h[3] ~= ARGV[2] then
  redis.call('HSET', KEYS[1], 'revoked', '1')
  return {'reused', h[1], h[4], h[5], h[6]}
end
if tonumber(h[6]) <= tonumber(ARGV[4]) then return {'expired', h[1], h[4], h[5], h[6]} end
redis.call('HSET', KEYS[1], 'token', ARGV[3], 'gen', tonumber(h[4]) + 1, 'iat', ARGV[6], 'exp', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
return {'ok', h[1], h[4], h[5], h[6]}
`

/** KEYS: a refresh family hash. Marks it revoked if it exists (an absent one has nothing left). */
export const REVOKE_FAMILY = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'revoked', '1')
return 1
`
