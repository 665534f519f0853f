import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import {
  call,
  change,
  claimsOf,
  createClients,
  edit,
  mint,
  revocationOf,
  startRealtimeNode,
  type RealtimeNode,
  once,
} from './helpers.js'

const TTL_S = 5
const clients = createClients()
let node: RealtimeNode

before(async () => {
  node = await startRealtimeNode({
    env: { VIGIL_ACCESS_TTL: String(TTL_S) },
    realtime: { expiringLeadS: 2, expiryGraceS: 1 },
  })
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** Rotates the refresh token through the token endpoint, as the SDK does. */
async function rotate(
  refreshToken: string,
): Promise<{ access_token: string; refresh_token: string }> {
  const res = await call(node, 'POST', '/v1/token', {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

/** Every event the client received, in order, with its first argument. */
function journal(socket: Socket): [string, any][] {
  const seen: [string, any][] = []
  socket.onAny((event: string, arg: unknown) => seen.push([event, arg]))
  return seen
}

// These wait on real token lifetimes (seconds each), so they run side by side.
describe('refreshing the access token on a live socket', { concurrency: true }, () => {
  test('a client that refreshes on vigil:expiring keeps one socket across three token lifetimes', async () => {
    const pair = await mint(node, 'alice')
    let refreshToken = pair.refresh_token
    let current = claimsOf(pair.access_token)
    const { socket } = await clients.connect(node.url, pair.access_token)
    const id = socket.id
    const events = journal(socket)
    let disconnected: string | null = null
    socket.on('disconnect', (reason) => (disconnected = reason))

    const tokens = [current]
    let acks = 0
    let expiring = once(socket, 'vigil:expiring')
    // Refresh until three whole tokens have expired under this one socket.
    while (tokens.length < 5) {
      const [warning] = await expiring
      assert.equal(warning.exp, current.exp, 'vigil:expiring names the current token')
      assert.ok(Date.now() < current.exp * 1000, 'vigil:expiring comes ahead of exp')
      const next = await rotate(refreshToken)
      refreshToken = next.refresh_token
      expiring = once(socket, 'vigil:expiring')
      const ack = await socket.emitWithAck('vigil:refresh', { token: next.access_token })
      current = claimsOf(next.access_token)
      assert.equal(ack.ok, true, JSON.stringify(ack))
      assert.equal(ack.data.exp, current.exp)
      // Other tests here change the policy meanwhile: the ack carries a version this node had.
      assert.ok(ack.data.version <= node.enforcer.live.current().version)
      acks += 1
      tokens.push(current)
    }
    assert.ok(acks >= 3)
    const outlived = tokens.slice(0, 3)
    assert.ok(
      outlived.every((t) => t.exp * 1000 < Date.now()),
      'three tokens expired meanwhile',
    )
    assert.ok(
      tokens.every((t) => t.sid === pair.session_id),
      'one session throughout',
    )

    // Decisions use the token the socket was last handed, not the long-expired first one.
    assert.deepEqual(await edit(socket, 'long', 'lived'), {
      ok: true,
      data: { docId: 'long', length: 5 },
    })
    assert.equal(socket.connected, true)
    assert.equal(socket.id, id)
    assert.equal(disconnected, null)
    assert.deepEqual(
      events.map(([e]) => e).filter((e) => e === 'vigil:expired' || e === 'vigil:revoked'),
      [],
    )
  })

  test("a refresh with another subject's or another session's token is refused with forbidden", async () => {
    const alice = await mint(node, 'alice')
    const { socket } = await clients.connect(node.url, alice.access_token)
    const bob = await mint(node, 'bob')
    const otherSubject = await socket.emitWithAck('vigil:refresh', { token: bob.access_token })
    assert.equal(otherSubject.error.code, 'forbidden')
    const aliceElsewhere = await mint(node, 'alice')
    const otherSession = await socket.emitWithAck('vigil:refresh', {
      token: aliceElsewhere.access_token,
    })
    assert.equal(otherSession.error.code, 'forbidden')
    assert.equal(
      (await socket.emitWithAck('vigil:refresh', { token: 'garbage' })).error.code,
      'token_invalid',
    )
    assert.equal((await socket.emitWithAck('vigil:refresh', {})).error.code, 'invalid_payload')
    assert.equal((await socket.emitWithAck('vigil:refresh', null)).error.code, 'invalid_payload')
    // The socket is still alice's: she edits, and it was not handed to bob.
    assert.equal((await edit(socket)).ok, true)
    assert.equal(socket.connected, true)
  })

  test('a socket refreshed in place is revoked by its new jti and no longer by its old one', async () => {
    await change(node, 'PUT', '/v1/subjects/frank/roles', { roles: ['editor'] })
    const pair = await mint(node, 'frank')
    const { socket } = await clients.connect(node.url, pair.access_token)
    const next = await rotate(pair.refresh_token)
    assert.equal((await socket.emitWithAck('vigil:refresh', { token: next.access_token })).ok, true)

    await change(node, 'POST', '/v1/revocations', { jti: claimsOf(pair.access_token).jti })
    assert.equal((await edit(socket)).ok, true)

    const settled = revocationOf(socket)
    const res = await call(node, 'POST', '/v1/revocations', {
      jti: claimsOf(next.access_token).jti,
    })
    assert.equal(res.status, 201)
    const [event, reason] = await settled
    assert.equal(event.version, res.body.version)
    assert.equal(reason, 'io server disconnect')
  })

  test('a socket that does not refresh gets vigil:expired with token_expired, then is disconnected', async () => {
    const pair = await mint(node, 'alice')
    const { exp } = claimsOf(pair.access_token)
    const { socket } = await clients.connect(node.url, pair.access_token)
    const events = journal(socket)
    const expiring = once(socket, 'vigil:expiring')
    const expired = once(socket, 'vigil:expired')
    const closed = once(socket, 'disconnect')

    assert.deepEqual((await expiring)[0], { exp })
    assert.deepEqual((await expired)[0], { code: 'token_expired', exp })
    assert.ok(Date.now() >= exp * 1000, 'expired only once exp has passed')
    const [reason] = await closed
    assert.equal(reason, 'io server disconnect')
    // Distinguishable from a revocation: no vigil:revoked, and expiring came first.
    assert.deepEqual(
      events.map(([e]) => e),
      ['vigil:expiring', 'vigil:expired'],
    )
  })

  test('a message after the refreshed token expired is refused with token_expired and vigil:expired names that token', async () => {
    const pair = await mint(node, 'alice')
    const { socket } = await clients.connect(node.url, pair.access_token)
    const firstWarning = once(socket, 'vigil:expiring')
    await firstWarning
    const next = await rotate(pair.refresh_token)
    const { exp } = claimsOf(next.access_token)
    assert.ok(exp > claimsOf(pair.access_token).exp)
    const secondWarning = once(socket, 'vigil:expiring')
    assert.equal((await socket.emitWithAck('vigil:refresh', { token: next.access_token })).ok, true)
    assert.deepEqual((await secondWarning)[0], { exp })

    // No event marks the instant of exp itself; wait for the clock to pass it (inside the grace).
    while (Date.now() < exp * 1000) {
      await new Promise((r) => setTimeout(r, Math.max(1, exp * 1000 - Date.now())))
    }
    const expired = once(socket, 'vigil:expired')
    const closed = once(socket, 'disconnect')
    const ack = await edit(socket)
    assert.equal(ack.error.code, 'token_expired')
    assert.deepEqual((await expired)[0], { code: 'token_expired', exp })
    assert.equal((await closed)[0], 'io server disconnect')
  })
})
