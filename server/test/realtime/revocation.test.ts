import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import {
  afterSecond,
  call,
  change,
  claimsOf,
  createClients,
  edit,
  mint,
  recordVigilEvents,
  revocationOf,
  startRealtimeNode,
  type RealtimeNode,
} from './helpers.js'

const clients = createClients()
let node: RealtimeNode

before(async () => {
  node = await startRealtimeNode()
})

after(async () => {
  clients.closeAll()
  await node.close()
})

interface Tab {
  socket: Socket
  events: string[]
}

/** Connects one socket (a browser tab) with `token`, recording the vigil events it gets. */
async function tab(token: string): Promise<Tab> {
  const { socket } = await clients.connect(node.url, token)
  return { socket, events: recordVigilEvents(socket) }
}

/**
 * An editor with two sessions — the first open in two tabs, the second in one — and bob, an
 * editor too so that his edits prove he still works. Subjects are fresh per test, since a
 * revocation stays in the policy.
 */
async function scenario(name: string) {
  const sub = `${name}-alice`
  const other = `${name}-bob`
  await change(node, 'PUT', `/v1/subjects/${sub}/roles`, { roles: ['editor'] })
  await change(node, 'PUT', `/v1/subjects/${other}/roles`, { roles: ['editor'] })
  const first = await mint(node, sub)
  const second = await mint(node, sub)
  const bob = await mint(node, other)
  return {
    sub,
    first,
    second,
    tabs: {
      firstA: await tab(first.access_token),
      firstB: await tab(first.access_token),
      second: await tab(second.access_token),
      bob: await tab(bob.access_token),
    },
  }
}

/**
 * Revokes through the API and checks that exactly `hit` were told and closed, and that every
 * other tab still edits (its ack is a round trip after the update, so a stray event would be in).
 */
async function revokeAndCheck(body: unknown, hit: Tab[], spared: Tab[]): Promise<void> {
  const settled = hit.map((t) => revocationOf(t.socket))
  const started = Date.now()
  const res = await call(node, 'POST', '/v1/revocations', { ...(body as object), reason: 'test' })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  for (const [event, reason] of await Promise.all(settled)) {
    assert.equal(event.reason, 'test')
    assert.equal(event.version, res.body.version)
    assert.equal(event.at, res.body.at)
    assert.ok(event.at >= started - 1 && event.at <= Date.now())
    assert.equal(reason, 'io server disconnect')
  }
  for (const t of hit) assert.equal(t.socket.connected, false)
  for (const t of spared) {
    assert.deepEqual(await edit(t.socket, 'still-here', 'ok'), {
      ok: true,
      data: { docId: 'still-here', length: 2 },
    })
    assert.equal(t.socket.connected, true)
    assert.deepEqual(t.events, [], 'a spared socket got no vigil event')
  }
}

test("revoking a subject closes all of that subject's sockets and only those", async () => {
  const { sub, tabs } = await scenario('subj')
  await revokeAndCheck({ subject: sub }, [tabs.firstA, tabs.firstB, tabs.second], [tabs.bob])
})

test("revoking a session closes that session's sockets and spares the subject's other session", async () => {
  const { first, tabs } = await scenario('sess')
  await revokeAndCheck(
    { session: first.session_id },
    [tabs.firstA, tabs.firstB],
    [tabs.second, tabs.bob],
  )
})

test('revoking a token by jti closes the sockets that use it and spares the same session under a newer token', async () => {
  const { first, tabs } = await scenario('jti')
  // The same session after a refresh: same sid, new jti.
  const rotated = await call(node, 'POST', '/v1/token', {
    grant_type: 'refresh_token',
    refresh_token: first.refresh_token,
  })
  assert.equal(rotated.status, 200, JSON.stringify(rotated.body))
  assert.equal(claimsOf(rotated.body.access_token).sid, claimsOf(first.access_token).sid)
  const sameSession = await tab(rotated.body.access_token)

  await revokeAndCheck(
    { jti: claimsOf(first.access_token).jti },
    [tabs.firstA, tabs.firstB],
    [sameSession, tabs.second, tabs.bob],
  )
})

test('revoking the tokens issued before a time closes the older session and spares the newer one', async () => {
  const sub = 'before-alice'
  await change(node, 'PUT', `/v1/subjects/${sub}/roles`, { roles: ['editor'] })
  await change(node, 'PUT', '/v1/subjects/before-bob/roles', { roles: ['editor'] })
  const older = await mint(node, sub)
  await afterSecond(claimsOf(older.access_token).iat)
  const newer = await mint(node, sub)
  const boundary = claimsOf(newer.access_token).iat
  assert.ok(claimsOf(older.access_token).iat < boundary)
  const olderTab = await tab(older.access_token)
  const newerTab = await tab(newer.access_token)
  const bob = await tab((await mint(node, 'before-bob')).access_token)

  await revokeAndCheck({ subject: sub, issued_before: boundary }, [olderTab], [newerTab, bob])
})
