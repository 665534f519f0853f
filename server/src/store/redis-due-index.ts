import type { Redis } from 'ioredis'
import type { DueIndex, DueMember } from './due-index.js'
import type { RevocationLookup } from './pruning.js'
import type { Guard } from './redis-store.js'
import type { DocumentKeys } from './redis-keys.js'

/**
 * KEYS: the due sorted set. ARGV: cutoff (epoch s), limit, lease until. Takes up to `limit`
 * members scored at or before the cutoff and moves them to the lease score, in one step, so two
 * nodes pruning at once never take the same batch. O(log n + k).
 */
const CLAIM_DUE = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[3], member) end
return due
`

/** ZADD/ZREM arguments per command, so a whole-document re-index does not build one huge call. */
const CHUNK = 1000

interface DueCommands {
  vigilClaimDue(key: string, cutoff: number, limit: number, lease: number): Promise<string[]>
}

/**
 * The Redis store's expiry index: one sorted set (`doc:rev:due`, same hash tag as the document)
 * scored by `until`. Costs O(log n) per revocation written and O(log n + k) per pruned batch.
 */
export function createRedisDueIndex(redis: Redis, key: string, guard: Guard): DueIndex {
  redis.defineCommand('vigilClaimDue', { numberOfKeys: 1, lua: CLAIM_DUE })
  const cmd = redis as unknown as DueCommands
  return {
    async put(items) {
      for (let i = 0; i < items.length; i += CHUNK) {
        const chunk = items.slice(i, i + CHUNK)
        const add = chunk.flatMap((d) => (d.until === null ? [] : [d.until, d.member]))
        const remove = chunk.flatMap((d) => (d.until === null ? [d.member] : []))
        const m = redis.multi()
        if (add.length > 0) m.zadd(key, ...add)
        if (remove.length > 0) m.zrem(key, ...remove)
        await guard(m.exec())
      }
    },
    async claim(cutoffS, limit, leaseUntilS) {
      const due = await guard(cmd.vigilClaimDue(key, cutoffS, limit, leaseUntilS))
      return due as DueMember[]
    },
    size: () => guard(redis.zcard(key)),
  }
}

/** Reads just the listed revocations from the document's hashes: O(ids), never a section. */
export function createRedisRevocationLookup(
  redis: Redis,
  doc: Pick<DocumentKeys, 'sessions' | 'tokens'>,
  guard: Guard,
): RevocationLookup {
  const read = async (key: string, ids: readonly string[]) => {
    if (ids.length === 0) return []
    const raw = await guard(redis.hmget(key, ...ids))
    return raw.map((json) => (json === null ? undefined : (JSON.parse(json) as { until?: number })))
  }
  return async (ids) => ({
    sessions: await read(doc.sessions, ids.sessions),
    tokens: await read(doc.tokens, ids.tokens),
  })
}
