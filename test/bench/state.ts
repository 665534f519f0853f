/**
 * `state`: what a long life leaves in the store, on the real Redis, through the session API in
 * this process (no HTTP; the access token issuer is a stub, since signatures are not the point).
 *
 * 1. One session refreshed 100,000 times: the keys under the bench's prefix before and after.
 * 2. 100,000 logouts (new session, then what `POST /v1/revocations {session}` does: revoke the
 *    refresh family, revoke the session with its `until`), pruned every 250 logouts, with token
 *    lifetimes of seconds (refresh 2 s, access 1 s, no tolerance, no grace) so the run spans many
 *    lifetimes: the peak of keys and of session revocations at checkpoints, and what is left once
 *    one lifetime has passed after the last logout.
 */
import { Redis } from 'ioredis'
import { createRedisStore } from '../../server/src/store/redis-store.js'
import type { PolicyStore } from '../../server/src/store/types.js'
import type { TokenIssuer } from '../../server/src/tokens/issue.js'
import { createSessionTokens, type SessionTokens } from '../../server/src/tokens/sessions.js'
import { dropPrefix, testPrefix } from '../../server/test/helpers/redis.js'
import { round, type Bench, type BenchRow } from './harness.js'

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'

const stubIssuer = {
  issueAccessToken: () => Promise.resolve({ token: 'at', kid: 'k', jti: 'j', exp: 0 }),
} as unknown as TokenIssuer

function sessionsOn(store: PolicyStore, accessTtlS: number, refreshTtlS: number): SessionTokens {
  return createSessionTokens({
    store,
    issuer: stubIssuer,
    accessTtlS,
    refreshTtlS,
    clockToleranceS: 0,
    isRevoked: () => false,
  })
}

async function countKeys(
  redis: Redis,
  prefix: string,
): Promise<{ total: number; refresh: number }> {
  let total = 0
  let refresh = 0
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
    cursor = next
    total += keys.length
    refresh += keys.filter((k) => k.startsWith(`${prefix}refresh:`)).length
  } while (cursor !== '0')
  return { total, refresh }
}

/** Prunes until nothing more is due; returns how many revocations went. */
async function pruneAll(store: PolicyStore): Promise<number> {
  let pruned = 0
  for (;;) {
    const r = await store.prune(Date.now(), { graceS: 0 })
    pruned += r.revocations
    if (!r.more) return pruned
  }
}

export const bench: Bench = async ({ quick }) => {
  const n = quick ? 20_000 : 100_000
  const prefix = testPrefix('bench-state')
  const redis = new Redis(REDIS_URL)
  const store = createRedisStore({ url: REDIS_URL, prefix })
  const rows: BenchRow[] = []
  try {
    // 1. The refresh chain.
    const long = sessionsOn(store, 300, 14 * 24 * 3600)
    let token = (await long.create({ sub: 'alice' })).refresh_token
    const before = await countKeys(redis, prefix)
    const started = performance.now()
    for (let i = 0; i < n; i++) {
      const r = await long.refresh(token)
      if (!r.ok) throw new Error(`refresh ${i} failed: ${r.detail}`)
      token = r.pair.refresh_token
    }
    const chainMs = performance.now() - started
    const chain = await countKeys(redis, prefix)
    const note = `${n.toLocaleString('en-US')} refreshes of one session`
    rows.push(
      { key: 'state.keys_per_live_session', value: chain.refresh, unit: 'keys', note },
      {
        key: 'state.chain_keys_total',
        value: chain.total,
        unit: 'keys',
        note: `every key under the prefix after the chain (${before.total} before it)`,
      },
      {
        key: 'state.refresh_store_us',
        value: round((chainMs * 1000) / n, 1),
        unit: 'us',
        note: 'per refresh: family read + rotation script, two round trips',
      },
    )

    // 2. Logouts, pruned as the nodes' pruner would, over many token lifetimes.
    const short = sessionsOn(store, 1, 2)
    const docSessions = `${prefix}doc:rev:sessions`
    let peakKeys = 0
    let peakRevocations = 0
    let pruneMs = 0
    let pruned = 0
    const t0 = performance.now()
    for (let i = 1; i <= n; i++) {
      const pair = await short.create({ sub: `user-${i % 1000}` })
      await store.revokeFamily(pair.session_id)
      const r = await store.apply({
        type: 'revoke',
        target: {
          kind: 'session',
          session: pair.session_id,
          until: short.revocationUntil(Date.now()),
        },
        reason: 'logout',
      })
      if (!r.ok) throw new Error(`logout ${i} failed: ${r.code}`)
      if (i % 250 === 0) {
        const p0 = performance.now()
        pruned += await pruneAll(store)
        pruneMs += performance.now() - p0
      }
      if (i % 10_000 === 0) {
        peakKeys = Math.max(peakKeys, (await countKeys(redis, prefix)).total)
        peakRevocations = Math.max(peakRevocations, await redis.hlen(docSessions))
      }
    }
    const logoutS = (performance.now() - t0) / 1000
    // One lifetime (3 s) after the last logout, the ended sessions leave nothing behind.
    for (let i = 0; i < 100; i++) {
      await pruneAll(store)
      const left = await countKeys(redis, prefix)
      if (left.refresh === 1 && (await redis.hlen(docSessions)) === 0) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    const left = await countKeys(redis, prefix)
    const rate = Math.round(n / logoutS)
    const logouts = `${n.toLocaleString('en-US')} logouts at ${rate}/s; a session lives 3 s`
    rows.push(
      { key: 'state.logout_peak_keys', value: peakKeys, unit: 'keys', note: logouts },
      {
        key: 'state.logout_peak_revocations',
        value: peakRevocations,
        unit: 'n',
        note: 'session revocations in the document at the checkpoints (every 10,000)',
      },
      {
        key: 'state.prune_us_per_revocation',
        value: round((pruneMs * 1000) / Math.max(1, pruned), 1),
        unit: 'us',
        note: `${pruned.toLocaleString('en-US')} pruned in batches of ~250: claim, HMGET, one revoke.prune`,
      },
      {
        key: 'state.logout_final_keys',
        value: left.total,
        unit: 'keys',
        note: `after one lifetime: ${left.refresh} refresh family (the live session) + fixed keys`,
      },
      {
        key: 'state.logout_final_revocations',
        value: await redis.hlen(docSessions),
        unit: 'n',
        note: 'session revocations left in the document',
      },
    )
  } finally {
    await store.close()
    redis.disconnect()
    await dropPrefix(prefix, REDIS_URL)
  }
  return rows
}
