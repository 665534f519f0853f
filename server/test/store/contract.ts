import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Change } from '../../src/policy/schema.js'
import { toPolicy } from '../../src/policy/state.js'
import type { PolicyStore, StoredKey, TailEvent } from '../../src/store/types.js'

/** What a store implementation gives the contract suite. */
export interface StoreHarness {
  /** A fresh, empty store. `logLimit` bounds its change log. */
  create(options?: { logLimit?: number; now?: () => number }): Promise<PolicyStore>
  /** A second client of the same store as the last `create` (another node, for Redis). */
  peer(): Promise<PolicyStore>
  /** Cuts the store's connections the way an outage would (CLIENT KILL); no-op in memory. */
  disrupt(): Promise<void>
  /** Closes everything the harness opened. */
  cleanup(): Promise<void>
}

const viewer: Change = {
  type: 'role.put',
  role: 'viewer',
  definition: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
}

/** Reads `count` events from a tail, then stops it. */
async function take(
  store: PolicyStore,
  from: number,
  count: number,
  onFirst?: () => Promise<void>,
): Promise<TailEvent[]> {
  const controller = new AbortController()
  const out: TailEvent[] = []
  for await (const event of store.tail(from, { signal: controller.signal })) {
    // A quiet tail's look at the store's head is not a change; the chain tests read it apart.
    if (event.kind === 'head') continue
    out.push(event)
    if (out.length === 1) await onFirst?.()
    if (out.length === count) controller.abort()
  }
  return out
}

const versions = (events: TailEvent[]): number[] =>
  events.map((e) => (e.kind === 'change' ? e.entry.version : e.kind === 'resync' ? -e.version : 0))

function key(kid: string, createdAt = 1): StoredKey {
  return {
    kid,
    alg: 'EdDSA',
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: kid },
    privateJwk: { kty: 'OKP', crv: 'Ed25519', x: kid, d: 'secret' },
    createdAt,
  }
}

/**
 * The one contract every `PolicyStore` passes. Both the memory and the Redis store run it, so
 * `npm start` without Redis behaves exactly like a production node, only unshared.
 */
export function testPolicyStore(name: string, harness: StoreHarness): void {
  describe(`${name} store contract`, () => {
    let store: PolicyStore
    before(async () => {
      store = await harness.create()
    })
    after(() => harness.cleanup())

    test('a fresh store is at version 0 with an empty policy', async () => {
      const fresh = await harness.create()
      const snap = await fresh.load()
      assert.equal(snap.version, 0)
      assert.deepEqual(toPolicy(snap.policy).roles, {})
      assert.equal(await fresh.version(), 0)
    })

    test('apply bumps the version and persists the document', async () => {
      const fresh = await harness.create()
      const r = await fresh.apply(viewer, { actor: 'test' })
      assert.equal(r.ok, true)
      assert.ok(r.ok)
      assert.equal(r.version, 1)
      assert.equal(r.previousVersion, 0)
      const snap = await fresh.load()
      assert.equal(snap.version, 1)
      assert.deepEqual(
        toPolicy(snap.policy).roles.viewer,
        viewer.type === 'role.put' && viewer.definition,
      )
    })

    test('an invalid change is rejected with invalid_policy naming the path', async () => {
      const r = await store.apply({ type: 'subject.roles', subject: 'x', roles: ['nope'] })
      assert.equal(r.ok, false)
      assert.ok(!r.ok && r.code === 'invalid_policy')
      assert.deepEqual(
        r.issues.map((i) => i.path),
        ['roles.0'],
      )
      const bad = await store.apply({ type: 'role.put', role: 'has space' } as unknown as Change)
      assert.ok(!bad.ok && bad.code === 'invalid_policy')
      assert.ok(bad.issues.some((i) => i.path === 'role'))
    })

    test('ifVersion applies on a match and reports a conflict otherwise', async () => {
      const fresh = await harness.create()
      await fresh.apply(viewer)
      const stale = await fresh.apply(viewer, { ifVersion: 0 })
      assert.ok(!stale.ok && stale.code === 'conflict')
      assert.equal(stale.version, 1)
      const ok = await fresh.apply(viewer, { ifVersion: 1 })
      assert.ok(ok.ok)
      assert.equal(ok.version, 2)
    })

    test('two clients applying concurrently get consecutive versions and lose no update', async () => {
      const a = await harness.create()
      await a.apply(viewer)
      const b = await harness.peer()
      const writes = Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).apply({ type: 'subject.roles', subject: `user${i}`, roles: ['viewer'] }),
      )
      const results = await Promise.all(writes)
      const got = results.map((r) => (r.ok ? r.version : -1)).sort((x, y) => x - y)
      assert.deepEqual(
        got,
        Array.from({ length: 40 }, (_, i) => i + 2),
      )
      const snap = await b.load()
      assert.equal(snap.version, 41)
      assert.equal(Object.keys(toPolicy(snap.policy).bindings).length, 40)
    })

    test('a peer loads exactly the document the writer built, through every kind of change', async () => {
      const a = await harness.create()
      const bindings = Object.fromEntries(
        Array.from({ length: 500 }, (_, i) => [`user${i}`, i % 2 ? ['viewer'] : ['viewer', 'x']]),
      )
      const steps: Change[] = [
        {
          type: 'policy.replace',
          policy: {
            roles: {
              viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
              x: { permissions: [] },
            },
            bindings,
            rules: [
              {
                id: 'r1',
                effect: 'deny',
                subjects: ['user1'],
                actions: ['*'],
                resources: ['doc/secret'],
              },
            ],
          },
        },
        { type: 'revoke', target: { kind: 'subject', subject: 'user3' }, reason: 'left' },
        { type: 'revoke', target: { kind: 'session', session: 's1' } },
        { type: 'revoke', target: { kind: 'token', jti: 'j1', until: 4_000_000_000 } },
        { type: 'revoke', target: { kind: 'issued_before', subject: 'user4', before: 100 } },
        { type: 'revoke.lift', target: { kind: 'session', session: 's1' } },
        { type: 'role.delete', role: 'x' },
        { type: 'subject.roles', subject: 'user7', roles: [] },
        { type: 'rule.delete', id: 'r1' },
      ]
      let last: Awaited<ReturnType<PolicyStore['apply']>> | undefined
      for (const change of steps) {
        last = await a.apply(change)
        assert.ok(last.ok, JSON.stringify(last))
      }
      assert.ok(last?.ok)
      const loaded = await (await harness.peer()).load()
      assert.equal(loaded.version, last.version)
      assert.deepEqual(toPolicy(loaded.policy), toPolicy(last.policy))
      assert.equal(Object.keys(toPolicy(loaded.policy).bindings).length, 499)
      assert.deepEqual(toPolicy(loaded.policy).bindings['user2'], ['viewer'])
      assert.deepEqual(Object.keys(toPolicy(loaded.policy).revocations.sessions), [])
    })

    test('every entry chains to the one before it, from the epoch on, and head() names the last', async () => {
      const fresh = await harness.create()
      const start = await fresh.load()
      assert.match(start.epoch, /^ep_[0-9a-f]{24}$/)
      assert.equal(start.head, start.epoch)
      assert.deepEqual(await fresh.head(), { epoch: start.epoch, version: 0, head: start.epoch })
      const results = []
      for (let i = 0; i < 3; i++) results.push(await fresh.apply(viewer))
      const entries = (await fresh.readLog(0, 3))!
      assert.equal(entries[0]!.prev, start.epoch)
      assert.equal(entries[1]!.prev, entries[0]!.hash)
      assert.equal(entries[2]!.prev, entries[1]!.hash)
      assert.equal(new Set(entries.map((e) => e.hash)).size, 3)
      const last = results[2]!
      assert.ok(last.ok)
      assert.deepEqual(last.head, { epoch: start.epoch, version: 3, head: entries[2]!.hash })
      assert.deepEqual(await fresh.head(), last.head)
      const peer = await (await harness.peer()).load()
      assert.deepEqual([peer.epoch, peer.version, peer.head], [start.epoch, 3, entries[2]!.hash])
    })

    test('ifHead applies only on the exact history it names, and minVersion jumps ahead', async () => {
      const fresh = await harness.create()
      const first = await fresh.apply(viewer)
      assert.ok(first.ok)
      await fresh.apply(viewer)
      const stale = await fresh.apply(viewer, { ifHead: first.head })
      assert.ok(!stale.ok && stale.code === 'conflict')
      assert.equal(stale.version, 2)
      const current = (await fresh.head())!
      const jumped = await fresh.apply(viewer, { ifHead: current, minVersion: 10 })
      assert.ok(jumped.ok)
      assert.equal(jumped.version, 10)
      const next = await fresh.apply(viewer)
      assert.ok(next.ok && next.version === 11)
      const entries = (await fresh.readLog(2, 11))!
      assert.deepEqual(
        entries.map((e) => e.version),
        [10, 11],
      )
      assert.equal(entries[1]!.prev, entries[0]!.hash)
    })

    test('restoreKeys writes back only the keys the store lacks and names a signer when it has none', async () => {
      const fresh = await harness.create()
      assert.equal(await fresh.initKey(key('k1')), true)
      const written = await fresh.restoreKeys([key('k1'), { ...key('k0'), retireAt: 9e12 }], 'k0')
      assert.equal(written, 1)
      assert.equal(await fresh.currentKid(), 'k1')
      const listed = await fresh.listKeys()
      assert.deepEqual(listed.map((k) => k.kid).sort(), ['k0', 'k1'])
      assert.equal(listed.find((k) => k.kid === 'k0')?.retireAt, 9e12)
    })

    test('tail yields every later change in order, then waits for new ones', async () => {
      const fresh = await harness.create()
      for (let i = 0; i < 3; i++) await fresh.apply(viewer)
      const events = await take(fresh, 1, 3, async () => {
        await fresh.apply({ type: 'subject.roles', subject: 'late', roles: ['viewer'] })
      })
      assert.deepEqual(versions(events), [2, 3, 4])
      const last = events[2]
      assert.ok(last?.kind === 'change' && last.entry.change.type === 'subject.roles')
      assert.equal(typeof last.entry.at, 'number')
    })

    test('readLog returns a range of entries in order, or null once the log was trimmed', async () => {
      const small = await harness.create({ logLimit: 3 })
      for (let i = 0; i < 3; i++) {
        await small.apply({ type: 'revoke', target: { kind: 'session', session: `s${i}` } })
      }
      const range = await small.readLog(1, 3)
      assert.deepEqual(
        range?.map((e) => e.version),
        [2, 3],
      )
      assert.ok(range?.[0]?.change.type === 'revoke')
      assert.deepEqual(await small.readLog(3, 3), [])
      for (let i = 3; i < 6; i++) {
        await small.apply({ type: 'revoke', target: { kind: 'session', session: `s${i}` } })
      }
      assert.equal(await small.readLog(1, 6), null)
      assert.deepEqual(
        (await small.readLog(3, 6))?.map((e) => e.version),
        [4, 5, 6],
      )
    })

    test('tail hands a reader behind the trimmed log the whole document', async () => {
      const small = await harness.create({ logLimit: 2 })
      for (let i = 0; i < 5; i++) {
        await small.apply({ type: 'revoke', target: { kind: 'subject', subject: `s${i}` } })
      }
      const [first, ...rest] = await take(small, 0, 1)
      assert.equal(rest.length, 0)
      assert.ok(first?.kind === 'resync')
      assert.equal(first.version, 5)
      assert.equal(Object.keys(toPolicy(first.policy).revocations.subjects).length, 5)
    })

    test('tail survives a killed connection and yields every change applied meanwhile', async () => {
      const fresh = await harness.create()
      await fresh.apply(viewer)
      const writer = await harness.peer()
      const events = await take(fresh, 0, 5, async () => {
        await harness.disrupt()
        for (let i = 0; i < 4; i++) {
          await writer.apply({ type: 'revoke', target: { kind: 'session', session: `sid${i}` } })
        }
      })
      assert.deepEqual(versions(events), [1, 2, 3, 4, 5])
    })

    test('tail reports contact with the store while nothing changes', async () => {
      const fresh = await harness.create()
      const controller = new AbortController()
      let contacts = 0
      const iterator = fresh.tail(0, {
        signal: controller.signal,
        onContact: () => {
          contacts += 1
          if (contacts === 2) controller.abort()
        },
      })
      const start = (await fresh.head())!
      for await (const event of iterator) {
        // A quiet tail only shows the store's head, and it is the one the store started with.
        assert.equal(event.kind, 'head', 'no change was applied')
        assert.ok(event.kind === 'head')
        assert.deepEqual(event.head, start)
      }
      assert.ok(contacts >= 2)
    })

    test('only one of two racing nodes creates the first signing key', async () => {
      const a = await harness.create()
      const b = await harness.peer()
      const won = await Promise.all([a.initKey(key('k1')), b.initKey(key('k2'))])
      assert.deepEqual(won.filter(Boolean), [true])
      const current = await a.currentKid()
      assert.ok(current === 'k1' || current === 'k2')
      assert.equal((await b.listKeys()).length, 1)
    })

    test('rotating schedules the old key for retirement and pruning removes it when due', async () => {
      const s = await harness.create()
      await s.initKey(key('old'))
      await s.rotateKey(key('new', 2), 5_000)
      assert.equal(await s.currentKid(), 'new')
      const ring = await s.listKeys()
      assert.equal(ring.find((k) => k.kid === 'old')?.retireAt, 5_000)
      assert.equal(ring.find((k) => k.kid === 'new')?.retireAt, undefined)
      await s.pruneKeys(4_999)
      assert.equal((await s.listKeys()).length, 2)
      await s.pruneKeys(5_000)
      assert.deepEqual(
        (await s.listKeys()).map((k) => k.kid),
        ['new'],
      )
    })

    test('a refresh token rotates once; replaying it revokes the whole family', async () => {
      const s = await harness.create()
      const now = Date.now()
      const record = { sub: 'alice', sid: 's1', iat: 1, exp: now + 60_000 }
      const fam = 'family-hash'
      await s.saveRefresh({ ...record, claims: { tenant: 'acme' } }, { family: fam, token: 'h1' })
      const stored = { ...record, claims: { tenant: 'acme' }, generation: 0 }
      assert.deepEqual(await s.getRefresh('s1', fam), stored)
      assert.equal(await s.getRefresh('s1', 'another-family'), null)
      const first = await s.rotateRefresh(
        's1',
        { family: fam, token: 'h1' },
        'h2',
        now,
        now + 120_000,
      )
      assert.ok(first.ok)
      assert.deepEqual(first.next, {
        ...stored,
        iat: Math.floor(now / 1000),
        exp: now + 120_000,
        generation: 1,
      })
      assert.deepEqual(await s.getRefresh('s1', fam), first.next)
      const replay = await s.rotateRefresh('s1', { family: fam, token: 'h1' }, 'h3', now, now + 1)
      assert.ok(!replay.ok && replay.reason === 'reused')
      assert.equal(replay.record.sid, 's1')
      const next = await s.rotateRefresh('s1', { family: fam, token: 'h2' }, 'h4', now, now + 1)
      assert.ok(!next.ok && next.reason === 'family_revoked')
    })

    test('a long refresh chain stays one family record at its latest generation', async () => {
      const s = await harness.create()
      const now = Date.now()
      const fam = 'family-hash'
      await s.saveRefresh(
        { sub: 'a', sid: 's1', iat: 1, exp: now + 60_000 },
        { family: fam, token: 't0' },
      )
      for (let i = 0; i < 50; i++) {
        const r = await s.rotateRefresh(
          's1',
          { family: fam, token: `t${i}` },
          `t${i + 1}`,
          now,
          now + 60_000,
        )
        assert.ok(r.ok, `rotation ${i + 1}`)
      }
      assert.equal((await s.getRefresh('s1', fam))?.generation, 50)
      // Any spent generation, however old, is still recognised as a replay.
      const replay = await s.rotateRefresh('s1', { family: fam, token: 't3' }, 'x', now, now + 1)
      assert.ok(!replay.ok && replay.reason === 'reused')
    })

    test('a token with the wrong family secret is unknown and leaves the family alive', async () => {
      const s = await harness.create()
      const now = Date.now()
      await s.saveRefresh(
        { sub: 'a', sid: 's1', iat: 1, exp: now + 60_000 },
        { family: 'f', token: 't0' },
      )
      const wrong = await s.rotateRefresh('s1', { family: 'g', token: 't0' }, 't1', now, now + 1)
      assert.deepEqual(wrong, { ok: false, reason: 'unknown' })
      const ok = await s.rotateRefresh('s1', { family: 'f', token: 't0' }, 't1', now, now + 60_000)
      assert.ok(ok.ok)
    })

    test('live sessions of two nodes are listed together and leave when dropped or expired', async () => {
      const a = await harness.create()
      const b = await harness.peer()
      const info = (sid: string, node: string) => ({
        sid,
        sub: 'alice',
        node,
        roles: ['editor'],
        connectedAt: 1,
        sockets: 1,
      })
      await a.putLiveSessions('node-a', [info('s1', 'node-a'), info('s2', 'node-a')], 60_000)
      await b.putLiveSessions('node-b', [info('s3', 'node-b')], 150)
      const sids = async () => (await a.listLiveSessions()).map((s) => s.sid).sort()
      assert.deepEqual(await sids(), ['s1', 's2', 's3'])
      await a.dropLiveSession('node-a', 's2')
      // node-b stops touching: its sessions vanish on their own (bounded wait on a real TTL).
      for (let i = 0; i < 200 && (await sids()).length > 1; i++) {
        await new Promise((r) => setTimeout(r, 10))
      }
      assert.deepEqual(await sids(), ['s1'])
      await a.touchNode('node-a', 60_000)
      assert.deepEqual(await sids(), ['s1'])
    })

    test('unknown, expired and explicitly revoked refresh families are refused', async () => {
      const s = await harness.create()
      const now = Date.now()
      const proof = { family: 'f', token: 't1' }
      assert.deepEqual(await s.rotateRefresh('nope', proof, 'x', now, now + 1), {
        ok: false,
        reason: 'unknown',
      })
      await s.saveRefresh({ sub: 'a', sid: 'se', iat: 1, exp: now + 1_000 }, proof)
      const expired = await s.rotateRefresh('se', proof, 't2', now + 1_000, now + 5_000)
      assert.ok(!expired.ok && expired.reason === 'expired')
      await s.saveRefresh({ sub: 'a', sid: 'sr', iat: 1, exp: now + 60_000 }, proof)
      await s.revokeFamily('sr')
      const revoked = await s.rotateRefresh('sr', proof, 't2', now, now + 60_000)
      assert.ok(!revoked.ok && revoked.reason === 'family_revoked')
      await s.revokeFamily('never-existed')
      assert.equal(await s.getRefresh('never-existed', 'f'), null, 'revoking creates nothing')
    })

    test('pruning drops a session revocation past its until with one change every reader sees', async () => {
      const s = await harness.create()
      const nowS = Math.floor(Date.now() / 1000)
      const revoke = (session: string, until: number): Change => ({
        type: 'revoke',
        target: { kind: 'session', session, until },
      })
      const gone = await s.apply(revoke('gone', nowS - 5))
      assert.ok(gone.ok)
      assert.ok((await s.apply(revoke('live', nowS + 3600))).ok)
      const tail = take(s, gone.version + 1, 1)
      const r = await s.prune(Date.now(), { graceS: 0 })
      assert.equal(r.revocations, 1)
      assert.equal(r.more, false)
      const [event] = await tail
      assert.ok(event?.kind === 'change' && event.entry.change.type === 'revoke.prune')
      assert.deepEqual(event.entry.change, { type: 'revoke.prune', sessions: ['gone'], tokens: [] })
      const peer = await harness.peer()
      const { policy, version } = await peer.load()
      assert.equal(version, r.version)
      assert.deepEqual([...policy.revocations.sessions.keys()], ['live'])
      // Nothing else is due: no further change, no new version.
      assert.deepEqual(await s.prune(Date.now(), { graceS: 0 }), {
        revocations: 0,
        families: 0,
        more: false,
      })
      assert.equal(await s.version(), version)
    })

    test('pruning keeps the grace, and leaves what is kept forever, revoked for longer or lifted', async () => {
      const s = await harness.create()
      const nowS = Math.floor(Date.now() / 1000)
      const revoke = (session: string, until?: number): Change => ({
        type: 'revoke',
        target:
          until === undefined ? { kind: 'session', session } : { kind: 'session', session, until },
      })
      await s.apply(revoke('recent', nowS - 10))
      assert.equal((await s.prune(Date.now(), { graceS: 60 })).revocations, 0, 'within the grace')
      await s.apply(revoke('longer', nowS - 100))
      await s.apply(revoke('longer', nowS + 3600))
      await s.apply(revoke('forever', nowS - 100))
      await s.apply(revoke('forever'))
      await s.apply(revoke('lifted', nowS - 100))
      await s.apply({ type: 'revoke.lift', target: { kind: 'session', session: 'lifted' } })
      const version = await s.version()
      const r = await s.prune(Date.now(), { graceS: 0 })
      assert.equal(r.revocations, 1, 'only "recent" is due')
      assert.equal(await s.version(), version + 1)
      const policy = toPolicy((await s.load()).policy)
      assert.deepEqual(Object.keys(policy.revocations.sessions).sort(), ['forever', 'longer'])
    })

    test('pruning takes bounded batches, tokens too, and says when more is due', async () => {
      const s = await harness.create()
      const past = Math.floor(Date.now() / 1000) - 60
      for (let i = 0; i < 3; i++) {
        await s.apply({
          type: 'revoke',
          target: { kind: 'session', session: `s${i}`, until: past },
        })
        await s.apply({ type: 'revoke', target: { kind: 'token', jti: `j${i}`, until: past } })
      }
      const first = await s.prune(Date.now(), { graceS: 0, limit: 4 })
      assert.deepEqual([first.revocations, first.more], [4, true])
      const second = await s.prune(Date.now(), { graceS: 0, limit: 4 })
      assert.deepEqual([second.revocations, second.more], [2, false])
      const policy = toPolicy((await s.load()).policy)
      assert.deepEqual(policy.revocations.sessions, {})
      assert.deepEqual(policy.revocations.tokens, {})
    })

    test('a replaced document is indexed, so its expired revocations are pruned too', async () => {
      const s = await harness.create()
      const past = Math.floor(Date.now() / 1000) - 60
      const entry = { reason: 'old', at: 1, until: past }
      const replaced = await s.apply({
        type: 'policy.replace',
        policy: { revocations: { sessions: { a: entry, b: { reason: 'kept', at: 1 } } } },
      })
      assert.ok(replaced.ok)
      assert.equal((await s.prune(Date.now(), { graceS: 0 })).revocations, 1)
      const policy = toPolicy((await s.load()).policy)
      assert.deepEqual(Object.keys(policy.revocations.sessions), ['b'])
    })

    test('two nodes pruning at once drop each revocation once', async () => {
      const a = await harness.create()
      const b = await harness.peer()
      const past = Math.floor(Date.now() / 1000) - 60
      for (let i = 0; i < 6; i++) {
        await a.apply({
          type: 'revoke',
          target: { kind: 'session', session: `s${i}`, until: past },
        })
      }
      const before = await a.version()
      const [x, y] = await Promise.all([
        a.prune(Date.now(), { graceS: 0, limit: 3 }),
        b.prune(Date.now(), { graceS: 0, limit: 3 }),
      ])
      assert.equal(x.revocations + y.revocations, 6)
      assert.equal(await a.version(), before + 2, 'one change per batch, none wasted')
    })
  })
}
