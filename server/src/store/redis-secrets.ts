import type { Redis } from 'ioredis'
import type { Guard } from './redis-store.js'
import type { RedisKeys } from './redis-keys.js'
import { INIT_KEY, REVOKE_FAMILY, ROTATE_KEY, ROTATE_REFRESH } from './redis-scripts.js'
import type { PolicyStore, RefreshRecord, RotateRefreshResult, StoredKey } from './types.js'

type Secrets = Pick<
  PolicyStore,
  | 'listKeys'
  | 'currentKid'
  | 'initKey'
  | 'rotateKey'
  | 'pruneKeys'
  | 'saveRefresh'
  | 'getRefresh'
  | 'rotateRefresh'
  | 'revokeFamily'
>

interface SecretCommands {
  vigilInitKey(...args: (string | number)[]): Promise<number>
  vigilRotateKey(...args: (string | number)[]): Promise<number>
  vigilRotateRefresh(...args: (string | number)[]): Promise<(string | null)[]>
  vigilRevokeFamily(...args: string[]): Promise<number>
}

/**
 * The key ring and refresh-token families of the Redis store. A family is one hash per session
 * (`refresh:<sid>`: static JSON, family-secret hash, live token hash, generation, iat, exp,
 * revoked) that expires with its live token, so a chain of any length keeps one key.
 */
export function createRedisSecrets(redis: Redis, keys: RedisKeys, guard: Guard): Secrets {
  redis.defineCommand('vigilInitKey', { numberOfKeys: 2, lua: INIT_KEY })
  redis.defineCommand('vigilRotateKey', { numberOfKeys: 3, lua: ROTATE_KEY })
  redis.defineCommand('vigilRotateRefresh', { numberOfKeys: 1, lua: ROTATE_REFRESH })
  redis.defineCommand('vigilRevokeFamily', { numberOfKeys: 1, lua: REVOKE_FAMILY })
  const cmd = redis as unknown as SecretCommands
  const refreshKey = (sid: string): string => keys.refreshPrefix + sid

  return {
    async listKeys() {
      const [stored, retirements] = await guard(
        Promise.all([redis.hgetall(keys.keys), redis.hgetall(keys.retirements)]),
      )
      return Object.entries(stored).map(([kid, json]) => {
        const key = JSON.parse(json) as StoredKey
        const retireAt = retirements[kid]
        return retireAt === undefined ? key : { ...key, retireAt: Number(retireAt) }
      })
    },
    currentKid: () => guard(redis.get(keys.currentKid)),
    async initKey(key) {
      const won = await guard(
        cmd.vigilInitKey(keys.keys, keys.currentKid, key.kid, JSON.stringify(key)),
      )
      return won === 1
    },
    async rotateKey(key, previousRetireAt) {
      await guard(
        cmd.vigilRotateKey(
          keys.keys,
          keys.currentKid,
          keys.retirements,
          key.kid,
          JSON.stringify(key),
          previousRetireAt,
        ),
      )
    },
    async pruneKeys(nowMs) {
      const [retirements, current] = await guard(
        Promise.all([redis.hgetall(keys.retirements), redis.get(keys.currentKid)]),
      )
      const due = Object.entries(retirements)
        .filter(([kid, at]) => Number(at) <= nowMs && kid !== current)
        .map(([kid]) => kid)
      if (due.length === 0) return
      await guard(
        redis
          .multi()
          .hdel(keys.keys, ...due)
          .hdel(keys.retirements, ...due)
          .exec(),
      )
    },

    async saveRefresh(record, hashes) {
      const { iat, exp, sid, ...rest } = record
      await guard(
        redis
          .multi()
          .hset(refreshKey(sid), {
            static: JSON.stringify(rest),
            family: hashes.family,
            token: hashes.token,
            gen: 0,
            iat,
            exp,
          })
          .pexpireat(refreshKey(sid), exp)
          .exec(),
      )
    },
    async getRefresh(sid, familyHash) {
      const [raw, family, gen, iat, exp] = await guard(
        redis.hmget(refreshKey(sid), 'static', 'family', 'gen', 'iat', 'exp'),
      )
      return raw && family === familyHash ? decode(sid, raw, gen, iat, exp) : null
    },
    async rotateRefresh(sid, hashes, nextHash, nowMs, newExp): Promise<RotateRefreshResult> {
      const [status, raw, gen, iat, exp] = await guard(
        cmd.vigilRotateRefresh(
          refreshKey(sid),
          hashes.family,
          hashes.token,
          nextHash,
          nowMs,
          newExp,
          Math.floor(nowMs / 1000),
        ),
      )
      if (status === 'unknown' || !raw) return { ok: false, reason: 'unknown' }
      const record = decode(sid, raw, gen, iat, exp)
      if (status === 'ok') {
        return {
          ok: true,
          previous: record,
          next: {
            ...record,
            iat: Math.floor(nowMs / 1000),
            exp: newExp,
            generation: record.generation + 1,
          },
        }
      }
      if (status === 'reused') return { ok: false, reason: 'reused', record }
      return { ok: false, reason: status === 'expired' ? 'expired' : 'family_revoked', record }
    },
    async revokeFamily(sid) {
      await guard(cmd.vigilRevokeFamily(refreshKey(sid)))
    },
  }
}

type Field = string | null | undefined

function decode(sid: string, raw: string, gen: Field, iat: Field, exp: Field): RefreshRecord {
  const rest = JSON.parse(raw) as Pick<RefreshRecord, 'sub' | 'claims'>
  return { ...rest, sid, iat: Number(iat), exp: Number(exp), generation: Number(gen) }
}
