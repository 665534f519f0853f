import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { after, before, test } from 'node:test'
import type { Socket as ServerSocket } from 'socket.io'
import type { Socket } from 'socket.io-client'
import { SessionBudgets } from '../../src/realtime/session-budgets.js'
import { createClients, edit, mint, once, startRealtimeNode, type RealtimeNode } from './helpers.js'

/**
 * Issue #13, item 3: the message budget was per socket, and one session could open any number of
 * sockets — 40 sockets of one session got 4,000 decisions in one burst against 100 for one
 * socket. The budget is now per session (and per subject), and a session's live sockets are
 * capped at the handshake with a coded `connect_error`.
 */

const clients = createClients()
let node: RealtimeNode
const BURST = 100
const CAP = 40

before(async () => {
  // One message a second refills: next to a burst of 100, the refill during a test is noise.
  node = await startRealtimeNode({
    realtime: {
      rateLimit: { perSecond: 1, burst: BURST, floodRefusals: 10_000, subjectSessions: 3 },
      maxSocketsPerSession: CAP,
    },
  })
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** Sends `n` edits on each socket at once; resolves with how many were let through. */
async function burst(sockets: Socket[], n: number): Promise<{ ok: number; limited: number }> {
  const acks = await Promise.all(
    sockets.flatMap((s, i) => Array.from({ length: n }, (_, j) => edit(s, `b-${i}-${j}`))),
  )
  const limited = acks.filter((a) => a.error?.code === 'rate_limited').length
  const ok = acks.filter((a) => a.ok === true).length
  assert.equal(ok + limited, acks.length, 'every message is either let through or rate_limited')
  return { ok, limited }
}

/** Whole seconds elapsed since `started`, rounded up: the most the bucket refilled meanwhile. */
const refillSince = (started: number): number => Math.ceil((Date.now() - started) / 1000) + 1

test("40 sockets of one session share one session's budget in a burst", async () => {
  const { access_token: token } = await mint(node, 'alice')
  const sockets = await Promise.all(
    Array.from({ length: CAP }, async () => (await clients.connect(node.url, token)).socket),
  )
  const started = Date.now()
  const { ok } = await burst(sockets, BURST)
  assert.ok(ok >= BURST, `${ok} let through`)
  assert.ok(ok <= BURST + refillSince(started), `${ok} let through, against ${CAP * BURST} before`)
  assert.ok(
    sockets.every((s) => s.connected),
    'being limited is not a flood',
  )
  for (const s of sockets) s.close()
})

test('the socket past the cap is refused at the handshake with too_many_sockets', async () => {
  const { access_token: token } = await mint(node, 'alice')
  const sockets = await Promise.all(
    Array.from({ length: CAP }, async () => (await clients.connect(node.url, token)).socket),
  )
  assert.equal(await clients.refusal(node.url, token), 'too_many_sockets')
  // Handshakes racing each other are counted too: none of these gets in either.
  const racing = await Promise.all(
    Array.from({ length: 5 }, () => clients.refusal(node.url, token)),
  )
  assert.deepEqual(racing, Array(5).fill('too_many_sockets'))
  // Another session of the same subject is not affected.
  const other = await mint(node, 'alice')
  const { socket } = await clients.connect(node.url, other.access_token)
  assert.equal(socket.connected, true)
  // A socket that leaves frees its slot.
  const gone = once(sockets[0]!, 'disconnect')
  sockets[0]!.close()
  await gone
  const { socket: again } = await connectWhenFreed(token)
  assert.equal(again.connected, true)
  for (const s of [...sockets, socket, again]) s.close()
})

/** The server learns of a client's close a moment after the client: retry until it has. */
async function connectWhenFreed(token: string) {
  for (;;) {
    const code = await clients.connect(node.url, token).then(
      (c) => c,
      (err: Error) => err.message,
    )
    if (typeof code !== 'string') return code
    assert.match(code, /too_many_sockets/)
    await new Promise((r) => setTimeout(r, 20))
  }
}

test("a subject's sessions together get subjectSessions sessions' budget", async () => {
  const sockets: Socket[] = []
  for (let i = 0; i < 4; i++) {
    const { access_token: token } = await mint(node, 'carol')
    sockets.push((await clients.connect(node.url, token)).socket)
  }
  const started = Date.now()
  const { ok } = await burst(sockets, BURST)
  assert.ok(ok >= 3 * BURST, `${ok} let through`)
  assert.ok(ok <= 3 * BURST + refillSince(started) * 3, `${ok} let through, against 400 before`)
  for (const s of sockets) s.close()
})

test('reconnecting does not refill a spent session budget', async () => {
  const { access_token: token } = await mint(node, 'alice')
  const first = (await clients.connect(node.url, token)).socket
  const started = Date.now()
  assert.ok((await burst([first], BURST)).ok >= BURST)
  const gone = once(first, 'disconnect')
  first.close()
  await gone
  const second = (await connectWhenFreed(token)).socket
  const { ok } = await burst([second], 20)
  assert.ok(ok <= refillSince(started), `${ok} let through after reconnecting`)
  second.close()
})

test('the budgets forget a session once its bucket has refilled, and never before', () => {
  const limit = { perSecond: 10, burst: 20, subjectSessions: 3, floodRefusals: 200 }
  const budgets = new SessionBudgets(limit, 2)
  const t0 = 1_000_000
  const socket = (id: string) => ({ id, conn: new EventEmitter() }) as unknown as ServerSocket
  const principal = (i: number, sid = `s${i}`) => ({ sub: `u${i}`, sid, claims: {} })
  for (let i = 0; i < 1000; i++) {
    const s = socket(`a${i}`)
    const limiter = budgets.admit(s, principal(i), t0)!
    budgets.connected(s)
    // Spends the whole burst: the bucket must outlive its socket until it has refilled.
    for (let j = 0; j < limit.burst; j++) assert.equal(limiter.take(t0), true)
    budgets.release(limiter, t0)
    budgets.release(limiter, t0)
  }
  assert.deepEqual(budgets.size, { sessions: 1000, subjects: 0, pending: 0 })
  // Another socket of a spent session finds the spent bucket, not a fresh one.
  const again = socket('again')
  const limiter = budgets.admit(again, principal(0), t0 + 100)!
  assert.equal(limiter.take(t0 + 100), true, 'one token refilled in 100 ms')
  assert.equal(limiter.take(t0 + 100), false)
  // Its connection closing before it connected releases it.
  assert.equal(budgets.size.pending, 1)
  ;(again.conn as unknown as EventEmitter).emit('close')
  assert.equal(budgets.size.pending, 0)
  // Two seconds (burst ÷ rate) later every bucket is full again, and forgotten.
  const late = socket('late')
  budgets.release(budgets.admit(late, principal(5000), t0 + 2101)!, t0 + 2101)
  assert.deepEqual(budgets.size, { sessions: 0, subjects: 0, pending: 1 })
})

test("a subject's second session gets a subject bucket that counts what the first spent", () => {
  const limit = { perSecond: 0.001, burst: 10, subjectSessions: 2, floodRefusals: 200 }
  const budgets = new SessionBudgets(limit, 5)
  const t0 = 1_000_000
  const socket = (id: string) => ({ id, conn: new EventEmitter() }) as unknown as ServerSocket
  const first = budgets.admit(socket('1'), { sub: 'carol', sid: 'a', claims: {} }, t0)!
  let passed = 0
  for (let i = 0; i < 8; i++) if (first.take(t0)) passed += 1
  assert.equal(budgets.size.subjects, 0, 'one session: no subject bucket yet')
  const second = budgets.admit(socket('2'), { sub: 'carol', sid: 'b', claims: {} }, t0)!
  const third = budgets.admit(socket('3'), { sub: 'carol', sid: 'c', claims: {} }, t0)!
  assert.equal(budgets.size.subjects, 1)
  for (const l of [first, second, third]) for (let i = 0; i < 20; i++) if (l.take(t0)) passed += 1
  // 2 sessions' worth (20) in all, the first session's 8 included.
  assert.equal(passed, 20)
})
