import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { compilePolicy } from '../../src/policy/compile.js'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { startPruner } from '../../src/store/pruner.js'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import type { TokenIssuer } from '../../src/tokens/issue.js'
import { createSessionTokens, type SessionTokens } from '../../src/tokens/sessions.js'
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.js'
import { ACCESS_TTL_S, TOLERANCE_S, createClock, createRig, type Clock } from '../tokens/helpers.js'

/**
 * Bounded state: what the store holds after long refresh chains and many logouts is bounded by
 * the live sessions (and the sessions ended within one token lifetime), never by history; and a
 * session whose revocation was pruned can get no valid token.
 */

const prefixes: string[] = []
const opened: PolicyStore[] = []
after(async () => {
  await Promise.all(opened.map((s) => s.close()))
  for (const prefix of prefixes) await dropPrefix(prefix)
})

function redisStore(options: { now?: () => number; logMaxLength?: number } = {}) {
  const prefix = testPrefix('pruning')
  prefixes.push(prefix)
  const store = createRedisStore({ url: REDIS_URL, prefix, blockMs: 200, ...options })
  opened.push(store)
  return { store, prefix }
}

/** Keys under `prefix`, by what follows it (`refresh:<sid>` counts as `refresh:`). */
async function keysOf(prefix: string): Promise<Map<string, number>> {
  const redis = new Redis(REDIS_URL)
  try {
    const kinds = new Map<string, number>()
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      cursor = next
      for (const key of keys) {
        const rest = key.slice(prefix.length)
        const kind = rest.startsWith('refresh:') ? 'refresh:' : rest
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1)
      }
    } while (cursor !== '0')
    return kinds
  } finally {
    redis.disconnect()
  }
}

/** An issuer that signs nothing: these tests are about store state, not signatures. */
const stubIssuer: TokenIssuer = {
  issueAccessToken: () => Promise.resolve({ token: 'at', kid: 'k', jti: 'j', exp: 0 }),
} as unknown as TokenIssuer

function sessionsOn(
  store: PolicyStore,
  ttl: { accessTtlS: number; refreshTtlS: number; clockToleranceS: number },
  now: () => number = Date.now,
): SessionTokens {
  return createSessionTokens({ store, issuer: stubIssuer, ...ttl, isRevoked: () => false, now })
}

/** What an app's logout does through the API: the family dies now, the revocation later. */
async function logout(store: PolicyStore, sessions: SessionTokens, sid: string, nowMs: number) {
  await store.revokeFamily(sid)
  const r = await store.apply({
    type: 'revoke',
    target: { kind: 'session', session: sid, until: sessions.revocationUntil(nowMs) },
    reason: 'logout',
  })
  assert.ok(r.ok)
}

async function pruneAll(store: PolicyStore, nowMs: number, graceS = 0): Promise<number> {
  let total = 0
  for (;;) {
    const r = await store.prune(nowMs, { graceS })
    total += r.revocations
    if (!r.more) return total
  }
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`pruning (${kind} store)`, () => {
    test('a session whose revocation was pruned can get no valid token', async () => {
      const clock: Clock = createClock()
      const store =
        kind === 'memory'
          ? createMemoryStore({ now: clock.now })
          : redisStore({ now: clock.now }).store
      const rig = await createRig({ clock, store })
      const REFRESH_TTL_S = 3600
      const sessions = createSessionTokens({
        store,
        issuer: rig.issuer,
        accessTtlS: ACCESS_TTL_S,
        refreshTtlS: REFRESH_TTL_S,
        clockToleranceS: TOLERANCE_S,
        isRevoked: async (p) =>
          compilePolicy((await store.load()).policy, 0).revocation(p) !== null,
        now: clock.now,
      })
      const graceS = TOLERANCE_S

      for (const how of ['logout', 'replay'] as const) {
        const first = await sessions.create({ sub: 'alice' })
        const access = [first.access_token]
        const refresh = [first.refresh_token]
        for (let i = 0; i < 5; i++) {
          clock.advance(60_000)
          const r = await sessions.refresh(refresh.at(-1)!)
          assert.ok(r.ok)
          access.push(r.pair.access_token)
          refresh.push(r.pair.refresh_token)
        }
        const sid = first.session_id
        if (how === 'logout') await logout(store, sessions, sid, clock.now())
        else assert.equal((await sessions.refresh(refresh[0]!)).ok, false, 'the replay is caught')
        const until = (await store.load()).policy.revocations.sessions.get(sid)?.until
        assert.ok(until !== undefined, `${how}: the revocation has an until`)

        // Up to its until (and the grace), the revocation stays and decides.
        clock.advance((until - clock.seconds() + graceS) * 1000)
        assert.equal(await pruneAll(store, clock.now(), graceS), 0, `${how}: not pruned early`)
        const kept = compilePolicy((await store.load()).policy, 0)
        assert.equal(kept.revocation({ sub: 'alice', sid, claims: {} })?.reason, 'session_revoked')

        clock.advance(1000)
        assert.equal(await pruneAll(store, clock.now(), graceS), 1, `${how}: pruned once due`)
        const { policy } = await store.load()
        assert.equal(policy.revocations.sessions.has(sid), false)

        // Gone from the document, and yet nothing of the session works any more.
        for (const token of access) {
          const v = await rig.verifier.verifyUncached(token)
          assert.ok(!v.ok && v.code === 'token_expired', `${how}: every access token has expired`)
        }
        for (const token of refresh) {
          const r = await sessions.refresh(token)
          assert.equal(r.ok, false, `${how}: no refresh token of the session is accepted`)
        }
      }
    })

    test('a refresh chain of any length keeps one family record', async () => {
      // Memory: the full 100,000; Redis: enough to show the key count does not move with it.
      const rotations = kind === 'memory' ? 100_000 : 5_000
      const ttl = { accessTtlS: 60, refreshTtlS: 3600, clockToleranceS: 0 }
      if (kind === 'memory') {
        const store = createMemoryStore()
        const sessions = sessionsOn(store, ttl)
        let token = (await sessions.create({ sub: 'alice' })).refresh_token
        for (let i = 0; i < rotations; i++) {
          const r = await sessions.refresh(token)
          assert.ok(r.ok)
          token = r.pair.refresh_token
        }
        assert.equal((await store.sizes()).families, 1)
        return
      }
      const { store, prefix } = redisStore()
      const sessions = sessionsOn(store, ttl)
      let token = (await sessions.create({ sub: 'alice' })).refresh_token
      const r0 = await sessions.refresh(token)
      assert.ok(r0.ok)
      token = r0.pair.refresh_token
      const before = await keysOf(prefix)
      for (let i = 0; i < rotations; i++) {
        const r = await sessions.refresh(token)
        assert.ok(r.ok)
        token = r.pair.refresh_token
      }
      assert.deepEqual(await keysOf(prefix), before)
      assert.equal(before.get('refresh:'), 1, 'one key for the one live session')
    })

    test('logouts leave state bounded by one token lifetime, not by how many there were', async () => {
      // 100,000 logouts, one per simulated second, with a 90 s session lifetime (60 s refresh,
      // 30 s access, no tolerance) and a prune every 100 logouts.
      const count = kind === 'memory' ? 100_000 : 3_000
      if (kind === 'memory') {
        const clock = createClock()
        const store = createMemoryStore({ now: clock.now, logLimit: 1000 })
        const ttl = { accessTtlS: 30, refreshTtlS: 60, clockToleranceS: 0 }
        const sessions = sessionsOn(store, ttl, clock.now)
        let peak = 0
        for (let i = 1; i <= count; i++) {
          const pair = await sessions.create({ sub: `user-${i % 1000}` })
          await logout(store, sessions, pair.session_id, clock.now())
          clock.advance(1000)
          if (i % 100 === 0) {
            await pruneAll(store, clock.now())
            const s = await store.sizes()
            peak = Math.max(peak, s.sessionRevocations, s.families, s.due)
          }
        }
        // One lifetime (90 s) plus one prune period (100 s) of logouts, whatever the count.
        assert.ok(peak <= 200, `peak ${peak}`)
        clock.advance(200_000)
        await pruneAll(store, clock.now())
        await store.prune(clock.now())
        const s = await store.sizes()
        assert.deepEqual(
          { ...s, logEntries: s.logEntries <= 1000 },
          { families: 0, sessionRevocations: 0, tokenRevocations: 0, due: 0, logEntries: true },
        )
        return
      }
      // Redis expires refresh families on its own clock, so this run is in real time, with
      // lifetimes of seconds: refresh 2 s, access 1 s, no tolerance.
      const { store, prefix } = redisStore({ logMaxLength: 100 })
      const ttl = { accessTtlS: 1, refreshTtlS: 2, clockToleranceS: 0 }
      const sessions = sessionsOn(store, ttl)
      const chain = sessionsOn(store, { accessTtlS: 60, refreshTtlS: 3600, clockToleranceS: 0 })
      await chain.create({ sub: 'stays' })
      for (let i = 1; i <= count; i++) {
        const pair = await sessions.create({ sub: `user-${i % 1000}` })
        await logout(store, sessions, pair.session_id, Date.now())
        if (i % 100 === 0) await pruneAll(store, Date.now())
      }
      // Once one lifetime has passed, nothing of the ended sessions is left (bounded wait).
      const settled = async () => {
        await pruneAll(store, Date.now())
        const keys = await keysOf(prefix)
        return (
          keys.get('refresh:') === 1 && !keys.has('doc:rev:sessions') && !keys.has('doc:rev:due')
        )
      }
      for (let i = 0; i < 100 && !(await settled()); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      const keys = await keysOf(prefix)
      assert.equal(keys.get('refresh:'), 1, 'the live session only')
      assert.equal(keys.has('doc:rev:sessions'), false, 'no session revocation left')
      assert.equal(keys.has('doc:rev:due'), false, 'an empty expiry index')
      const total = [...keys.values()].reduce((a, b) => a + b, 0)
      assert.ok(total <= 10, `a handful of fixed keys: ${JSON.stringify([...keys])}`)
      const redis = new Redis(REDIS_URL)
      try {
        assert.ok((await redis.xlen(`${prefix}log`)) <= 100, 'the change log keeps its cap')
      } finally {
        redis.disconnect()
      }
    })
  })
}

describe('the pruner every node runs', () => {
  const logger = () => {
    const lines: { level: string; msg: string; obj: unknown }[] = []
    const log = (level: string) => (obj: unknown, msg?: string) => {
      lines.push({ level, msg: msg ?? String(obj), obj })
    }
    return { lines, logger: { info: log('info'), warn: log('warn') } as never }
  }

  test('a round drains every due batch, and says what it pruned', async () => {
    const store = createMemoryStore()
    const past = Math.floor(Date.now() / 1000) - 600
    for (let i = 0; i < 2500; i++) {
      await store.apply({ type: 'revoke', target: { kind: 'token', jti: `j${i}`, until: past } })
    }
    const { lines, logger: log } = logger()
    const pruner = startPruner({ store, logger: log, intervalMs: 3_600_000 })
    try {
      assert.deepEqual(await pruner.runOnce(), { revocations: 2500, families: 0 })
      assert.equal((await store.sizes()).tokenRevocations, 0)
      assert.equal(lines.filter((l) => l.level === 'info').length, 1)
      assert.deepEqual(await pruner.runOnce(), { revocations: 0, families: 0 })
      assert.equal(lines.length, 1, 'a round with nothing due says nothing')
    } finally {
      pruner.stop()
    }
  })

  test('it skips rounds while the node fails closed, and reports a failing store once', async () => {
    const store = createMemoryStore()
    const past = Math.floor(Date.now() / 1000) - 600
    await store.apply({ type: 'revoke', target: { kind: 'session', session: 's1', until: past } })
    let paused = true
    const { lines, logger: log } = logger()
    const pruner = startPruner({ store, logger: log, intervalMs: 3_600_000, paused: () => paused })
    try {
      assert.deepEqual(await pruner.runOnce(), { revocations: 0, families: 0 })
      assert.equal((await store.sizes()).sessionRevocations, 1, 'nothing written while paused')
      paused = false
      const failing = { ...store, prune: () => Promise.reject(new Error('store down')) }
      const broken = startPruner({ store: failing, logger: log, intervalMs: 3_600_000 })
      await broken.runOnce()
      await broken.runOnce()
      broken.stop()
      assert.equal(lines.filter((l) => l.level === 'warn').length, 1)
      assert.deepEqual(await pruner.runOnce(), { revocations: 1, families: 0 })
    } finally {
      pruner.stop()
    }
  })
})
