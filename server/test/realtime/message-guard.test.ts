import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import { createClients, edit, mint, startRealtimeNode, type RealtimeNode } from './helpers.js'

const clients = createClients()
let node: RealtimeNode
let alice: Socket
let bob: Socket

before(async () => {
  node = await startRealtimeNode()
  alice = (await clients.connect(node.url, (await mint(node, 'alice')).access_token)).socket
  bob = (await clients.connect(node.url, (await mint(node, 'bob')).access_token)).socket
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** One acked round trip: any message sent before it has been through the guard by then. */
async function roundTrip(socket: Socket): Promise<void> {
  assert.equal((await socket.emitWithAck('doc:edit', { docId: 'sync', text: '' })).ok, true)
}

test('an allowed event reaches its handler and the handler acks', async () => {
  const before = node.counts['doc:edit']
  assert.deepEqual(await edit(alice, '42', 'hello world'), {
    ok: true,
    data: { docId: '42', length: 11 },
  })
  assert.equal(node.counts['doc:edit'], before + 1)
})

test('an unmapped event never reaches its handler and is acked forbidden', async () => {
  const ack = await alice.emitWithAck('doc:delete', { docId: '1' })
  assert.equal(ack.error.code, 'forbidden')
  assert.match(ack.error.message, /doc:delete/)
  // Even without an ack a refused event is dropped, not handed on.
  alice.emit('doc:delete', { docId: '1' })
  alice.emit('__proto__', { docId: '1' })
  alice.emit('constructor', { docId: '1' })
  await roundTrip(alice)
  assert.equal(node.counts['doc:delete'], 0)
})

test('a denied event (bob may not write) never reaches its handler and is acked forbidden', async () => {
  const before = node.counts['doc:edit']
  const ack = await edit(bob, '1', 'defaced')
  assert.equal(ack.error.code, 'forbidden')
  assert.equal(typeof ack.error.message, 'string')
  assert.equal(node.counts['doc:edit'], before)
  // Bob stays connected: a denial is not a revocation.
  assert.equal(bob.connected, true)
})

test('an invalid payload never reaches its handler and is acked invalid_payload', async () => {
  const before = node.counts['doc:edit']
  const payloads: unknown[] = [
    { docId: '' },
    { docId: '1' },
    { docId: 1, text: 'x' },
    { docId: '1', text: 'x', extra: true },
    'doc/1',
    null,
    { docId: '1', text: 'x'.repeat(10_001) },
  ]
  for (const payload of payloads) {
    const ack = await alice.emitWithAck('doc:edit', payload)
    assert.equal(
      ack.error?.code,
      'invalid_payload',
      `payload ${JSON.stringify(payload)?.slice(0, 60)}`,
    )
  }
  const missing = await alice.emitWithAck('doc:edit')
  assert.equal(missing.error.code, 'invalid_payload')
  assert.equal(node.counts['doc:edit'], before)
})

test('the audit log has a socket decision line for an allowed and a denied doc:edit', async () => {
  assert.equal((await edit(alice, 'audited-a')).ok, true)
  assert.equal((await edit(bob, 'audited-b')).error.code, 'forbidden')
  await node.enforcer.audit.flush()

  const decisions = (): any[] =>
    node.audit.lines
      .map((l) => JSON.parse(l))
      .filter((l) => l.event === 'decision' && l.transport === 'socket' && l.action === 'doc:write')
  const find = (resource: string) => decisions().find((l) => l.resource === resource)
  for (let i = 0; i < 1000 && (!find('doc/audited-a') || !find('doc/audited-b')); i++) {
    await new Promise((r) => setImmediate(r))
  }
  const allowed = find('doc/audited-a')
  const denied = find('doc/audited-b')
  assert.ok(allowed, 'an allow line for alice')
  assert.ok(denied, 'a deny line for bob')
  assert.equal(allowed.sub, 'alice')
  assert.equal(allowed.allow, true)
  assert.equal(typeof allowed.version, 'number')
  assert.equal(denied.sub, 'bob')
  assert.equal(denied.allow, false)
  assert.equal(denied.reason, 'no_matching_permission')
  // Refusals made before any decision (unmapped event, bad payload) are audited too.
  const lines = node.audit.lines.map((l) => JSON.parse(l))
  const refused = (reason: string) =>
    lines.some((l) => l.transport === 'socket' && l.allow === false && l.reason === reason)
  assert.ok(refused('unmapped_event'), 'an unmapped_event line')
  assert.ok(refused('invalid_payload'), 'an invalid_payload line')
  // No line carries a token.
  assert.ok(!node.audit.text.includes('eyJ'), 'no JWT in the audit log')
})
