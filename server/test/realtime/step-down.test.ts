import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import {
  call,
  createClients,
  edit,
  mint,
  recordVigilEvents,
  startRealtimeNode,
  untilVersion,
  type RealtimeNode,
  once,
} from './helpers.js'

const clients = createClients()
let node: RealtimeNode
let alice: Socket
let bob: Socket
let bobEvents: string[]

const READ = { action: 'doc:read', resource: 'doc/*' }
const WRITE = { action: 'doc:write', resource: 'doc/*' }

before(async () => {
  node = await startRealtimeNode()
  alice = (await clients.connect(node.url, (await mint(node, 'alice')).access_token)).socket
  bob = (await clients.connect(node.url, (await mint(node, 'bob')).access_token)).socket
  bobEvents = recordVigilEvents(bob)
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** Bob's acked emit is a round trip: anything pushed to him before it has arrived by its ack. */
async function assertBobUntouched(): Promise<void> {
  assert.equal((await edit(bob)).error.code, 'forbidden')
  assert.deepEqual(bobEvents, [])
  assert.equal(bob.connected, true)
}

test('a step-down pushes vigil:step-down with what was removed, and the next edit is forbidden', async () => {
  assert.equal((await edit(alice)).ok, true)
  const stepped = once(alice, 'vigil:step-down')
  const res = await call(node, 'PUT', '/v1/subjects/alice/roles', { roles: ['viewer'] })
  assert.equal(res.status, 200)
  const [event] = await stepped
  assert.equal(event.version, res.body.version)
  assert.equal(event.at, res.body.at)
  assert.deepEqual(event.removed, [WRITE])
  assert.deepEqual(event.capabilities, { roles: ['viewer'], allow: [READ], deny: [] })

  const denied = await edit(alice)
  assert.equal(denied.error.code, 'forbidden')
  assert.equal(alice.connected, true)
  await assertBobUntouched()
})

test('a step-up pushes vigil:step-up with what was added, and the next edit is allowed', async () => {
  const stepped = once(alice, 'vigil:step-up')
  const res = await call(node, 'PUT', '/v1/subjects/alice/roles', { roles: ['editor'] })
  assert.equal(res.status, 200)
  const [event] = await stepped
  assert.equal(event.version, res.body.version)
  assert.deepEqual(event.added, [WRITE])
  assert.deepEqual(event.capabilities, { roles: ['editor'], allow: [READ, WRITE], deny: [] })

  assert.deepEqual(await edit(alice, '7', 'back'), { ok: true, data: { docId: '7', length: 4 } })
  await assertBobUntouched()
})

test('a change that leaves capabilities as they were pushes nothing', async () => {
  const events = recordVigilEvents(alice)
  const res = await call(node, 'PUT', '/v1/subjects/alice/roles', { roles: ['editor', 'viewer'] })
  assert.equal(res.status, 200)
  await untilVersion(node, res.body.version)
  assert.equal((await edit(alice)).ok, true)
  assert.deepEqual(events, [])
})

test("editing a role steps down the role's holders on their sockets, and no one else", async () => {
  const stepped = once(alice, 'vigil:step-down')
  const narrowed = await call(node, 'POST', '/v1/policy/changes', {
    type: 'role.put',
    role: 'editor',
    definition: { permissions: [READ] },
  })
  assert.equal(narrowed.status, 200, JSON.stringify(narrowed.body))
  const [event] = await stepped
  assert.equal(event.version, narrowed.body.version)
  assert.deepEqual(event.removed, [WRITE])
  assert.equal((await edit(alice)).error.code, 'forbidden')
  await assertBobUntouched()

  const restored = once(alice, 'vigil:step-up')
  const back = await call(node, 'POST', '/v1/policy/changes', {
    type: 'role.put',
    role: 'editor',
    definition: { permissions: [READ, WRITE] },
  })
  assert.equal(back.status, 200)
  assert.deepEqual((await restored)[0].added, [WRITE])
  assert.equal((await edit(alice)).ok, true)
})

test('a deny rule naming a subject is a step-down whose removed lists the denied pattern', async () => {
  const DENY = { action: 'doc:write', resource: 'doc/secret-*' }
  const stepped = once(alice, 'vigil:step-down')
  const res = await call(node, 'POST', '/v1/policy/changes', {
    type: 'rule.put',
    rule: {
      id: 'no-secrets',
      effect: 'deny',
      subjects: ['alice'],
      actions: [DENY.action],
      resources: [DENY.resource],
    },
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  const [event] = await stepped
  assert.deepEqual(event.removed, [DENY])
  assert.deepEqual(event.capabilities.deny, [DENY])
  assert.equal((await edit(alice, 'secret-1')).error.code, 'forbidden')
  assert.equal((await edit(alice, 'public-1')).ok, true)

  const lifted = once(alice, 'vigil:step-up')
  assert.equal(
    (await call(node, 'POST', '/v1/policy/changes', { type: 'rule.delete', id: 'no-secrets' }))
      .status,
    200,
  )
  assert.deepEqual((await lifted)[0].added, [DENY])
  assert.equal((await edit(alice, 'secret-1')).ok, true)
  await assertBobUntouched()
})
