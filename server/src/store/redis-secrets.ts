import type { Redis } from 'ioredis'
import type { Guard } from './redis-store.js'
import type { RedisKeys } from './redis-keys.js'
import { INIT_KEY, ROTATE_KEY, ROTATE_REFRESH } from './redis-scripts.js'
import type { PolicyStore, RefreshRecord, RotateRefreshResult, StoredKey } from './types.js'

/** A revoked family is remembered this long: longer than any refresh token of it can live. */
const FAMILY_REVOCATION_TTL_MS = 90 * 24 * 3600 * 1000

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
}

/** The key ring and refresh-token families of the Redis store. */
export function createRedisSecrets(redis: Redis, keys: RedisKeys, guard: Guard): Secrets {
  redis.defineCommand('vigilInitKey', { numberOfKeys: 2, lua: INIT_KEY })
  redis.defineCommand('vigilRotateKey', { numberOfKeys: 3, lua: ROTATE_KEY })
  redis.defineCommand('vigilRotateRefresh', { numberOfKeys: 2, lua: ROTATE_REFRESH })
  const cmd = redis as unknown as SecretCommands
  const refreshKey = (hash: string): string => keys.refreshPrefix + hash

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

    async saveRefresh(hash, record) {
      const { iat, exp, ...rest } = record
      await guard(
        redis
          .multi()
          .hset(refreshKey(hash), {
            static: JSON.stringify(rest),
            family: record.family,
            iat,
            exp,
            spent: '0',
          })
          .pexpireat(refreshKey(hash), exp)
          .exec(),
      )
    },
    async getRefresh(hash) {
      const [raw, iat, exp] = await guard(redis.hmget(refreshKey(hash), 'static', 'iat', 'exp'))
      return raw ? decode(raw, iat, exp) : null
    },
    async rotateRefresh(oldHash, newHash, nowMs, newExp): Promise<RotateRefreshResult> {
      const [status, raw, iat, exp] = await guard(
        cmd.vigilRotateRefresh(
          refreshKey(oldHash),
          refreshKey(newHash),
          keys.familyPrefix,
          nowMs,
          newExp,
          Math.floor(nowMs / 1000),
          FAMILY_REVOCATION_TTL_MS,
        ),
      )
      if (status === 'unknown' || !raw) return { ok: false, reason: 'unknown' }
      const record = decode(raw, iat, exp)
      if (status === 'ok') {
        return {
          ok: true,
          previous: record,
          next: { ...record, iat: Math.floor(nowMs / 1000), exp: newExp },
        }
      }
      if (status === 'reused') return { ok: false, reason: 'reused', record }
      return { ok: false, reason: status === 'expired' ? 'expired' : 'family_revoked', record }
    },
    async revokeFamily(family) {
      await guard(redis.set(keys.familyPrefix + family, '1', 'PX', FAMILY_REVOCATION_TTL_MS))
    },
  }
}

function decode(raw: string, iat: string | null | undefined, exp: string | null | undefined) {
  const rest = JSON.parse(raw) as Omit<RefreshRecord, 'iat' | 'exp'>
  return { ...rest, iat: Number(iat), exp: Number(exp) } as RefreshRecord
}
