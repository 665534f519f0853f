import type { Redis } from 'ioredis'
import type { Guard } from './redis-store.js'
import type { LiveSessionInfo, PolicyStore } from './types.js'

type Directory = Pick<
  PolicyStore,
  'putLiveSessions' | 'dropLiveSession' | 'touchNode' | 'listLiveSessions'
>

/**
 * The cross-node directory of live sessions: one hash per node (`sid` → info) that expires
 * unless the node keeps touching it, and a sorted set of nodes scored by their expiry, so
 * listing never needs SCAN and a crashed node's sessions vanish on their own.
 */
export function createRedisDirectory(redis: Redis, prefix: string, guard: Guard): Directory {
  const nodes = `${prefix}live:nodes`
  const hash = (node: string): string => `${prefix}live:${node}`
  return {
    async putLiveSessions(node, sessions, ttlMs) {
      const m = redis.multi()
      if (sessions.length > 0) {
        m.hset(hash(node), Object.fromEntries(sessions.map((s) => [s.sid, JSON.stringify(s)])))
      }
      m.pexpire(hash(node), ttlMs).zadd(nodes, Date.now() + ttlMs, node)
      await guard(m.exec())
    },
    async dropLiveSession(node, sid) {
      await guard(redis.hdel(hash(node), sid))
    },
    async touchNode(node, ttlMs) {
      await guard(
        redis
          .multi()
          .pexpire(hash(node), ttlMs)
          .zadd(nodes, Date.now() + ttlMs, node)
          .exec(),
      )
    },
    async listLiveSessions() {
      const now = Date.now()
      await guard(redis.zremrangebyscore(nodes, '-inf', now))
      const alive = await guard(redis.zrangebyscore(nodes, now, '+inf'))
      if (alive.length === 0) return []
      const p = redis.pipeline()
      for (const node of alive) p.hvals(hash(node))
      const replies = (await guard(p.exec())) ?? []
      const out: LiveSessionInfo[] = []
      for (const [err, values] of replies) {
        if (err) continue
        for (const json of values as string[]) out.push(JSON.parse(json) as LiveSessionInfo)
      }
      return out
    },
  }
}
