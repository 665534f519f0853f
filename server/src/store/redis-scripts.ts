/**
 * Lua scripts of the Redis store. Each runs atomically on the server, which is what makes
 * "bump the version, persist the document, append to the log" one step that no other writer can
 * interleave with. All keys share one hash tag (`{vigil}` by default) so they work on Redis Cluster.
 */

/**
 * KEYS: version, log, then the document keys (`DOC_KEY_ORDER`). ARGV: expected version, entry
 * JSON, stream max length, then `[op, keyIndex, field, value]` quads (`S` HSET, `D` HDEL) from
 * `encodePatch`. Returns {1, newVersion}, or {0, currentVersion} when another writer got there
 * first — in which case nothing was written.
 */
export const APPLY = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current ~= tonumber(ARGV[1]) then return {0, current} end
for i = 4, #ARGV, 4 do
  local key = KEYS[3 + tonumber(ARGV[i + 1])]
  if ARGV[i] == 'S' then
    redis.call('HSET', key, ARGV[i + 2], ARGV[i + 3])
  else
    redis.call('HDEL', key, ARGV[i + 2])
  end
end
local nextVersion = current + 1
redis.call('SET', KEYS[1], nextVersion)
-- Approximate trimming is cheaper; short logs (tests, tiny deployments) trim exactly.
local trim = '~'
if tonumber(ARGV[3]) < 1000 then trim = '=' end
redis.call('XADD', KEYS[2], 'MAXLEN', trim, ARGV[3], nextVersion .. '-0', 'e', ARGV[2])
return {1, nextVersion}
`

/** KEYS: version, then the document keys. Returns {version, HGETALL of each}, one consistent read. */
export const READ = `
local out = { redis.call('GET', KEYS[1]) or '0' }
for i = 2, #KEYS do out[i] = redis.call('HGETALL', KEYS[i]) end
return out
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
 * KEYS: old token hash key, new token hash key. ARGV: family-key prefix, now ms, new exp ms,
 * new iat s, family revocation ttl ms.
 * Returns {status, static JSON, iat, exp}; status is ok | unknown | family_revoked | reused | expired.
 * A spent token stays stored (marked spent) as long as its family may live, so a replay is caught.
 */
export const ROTATE_REFRESH = `
local h = redis.call('HMGET', KEYS[1], 'static', 'family', 'iat', 'exp', 'spent')
if not h[1] then return {'unknown'} end
local familyKey = ARGV[1] .. h[2]
if redis.call('EXISTS', familyKey) == 1 then return {'family_revoked', h[1], h[3], h[4]} end
if h[5] == '1' then
  redis.call('SET', familyKey, '1', 'PX', ARGV[5])
  return {'reused', h[1], h[3], h[4]}
end
if tonumber(h[4]) <= tonumber(ARGV[2]) then return {'expired', h[1], h[3], h[4]} end
redis.call('HSET', KEYS[1], 'spent', '1')
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('HSET', KEYS[2], 'static', h[1], 'family', h[2], 'iat', ARGV[4], 'exp', ARGV[3], 'spent', '0')
redis.call('PEXPIREAT', KEYS[2], ARGV[3])
return {'ok', h[1], h[3], h[4]}
`
