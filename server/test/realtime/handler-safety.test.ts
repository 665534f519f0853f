import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import { createClients, edit, mint, once, startRealtimeNode, type RealtimeNode } from './helpers.js'

/**
 * A hostile client must not be able to end the node, and neither may a bug in an app handler:
 * the guard hands handlers exactly `(payload, ack?)`, and whatever a handler throws is caught,
 * logged and counted.
 */

const clients = createClients()
let node: RealtimeNode
let alice: Socket
let bob: Socket
/** What the app's `doc:echo` handler received, in order. */
const seen: unknown[][] = []

before(async () => {
  node = await startRealtimeNode({
    events: {
      'doc:boom': { action: 'doc:write', resource: 'doc/1' },
      'doc:reject': { action: 'doc:write', resource: 'doc/1' },
      'doc:echo': { action: 'doc:write', resource: 'doc/1' },
    },
  })
  node.io!.on('connection', (socket) => {
    socket.on('doc:boom', () => {
      throw new Error('handler bug')
    })
    socket.on('doc:reject', async () => {
      throw new Error('async handler bug')
    })
    socket.on('doc:echo', (...args: unknown[]) => {
      seen.push(args)
      const ack = args[1]
      if (typeof ack === 'function') ack({ ok: true, data: { args: args.length } })
    })
  })
  alice = (await clients.connect(node.url, (await mint(node, 'alice')).access_token)).socket
  bob = (await clients.connect(node.url, (await mint(node, 'bob')).access_token)).socket
})

after(async () => {
  clients.closeAll()
  await node.close()
})

async function handlerErrors(): Promise<number> {
  const res = await node.api('/metrics')
  const m = /^vigil_handler_errors_total\{[^}]*transport="socket"[^}]*\} (\d+)/m.exec(
    await res.text(),
  )
  return m ? Number(m[1]) : 0
}

test('a valid payload followed by an extra argument is refused with invalid_payload and the node lives', async () => {
  const before = node.counts['doc:edit']
  // The frame 421["doc:edit",{"docId":"1","text":"x"},1]: an ack id and a stray argument.
  const ack = await alice.timeout(2000).emitWithAck('doc:edit', { docId: '1', text: 'x' }, 1)
  assert.equal(ack.error.code, 'invalid_payload')
  assert.equal(node.counts['doc:edit'], before)
  // The same without an ack id: dropped, never handed on.
  alice.emit('doc:edit', { docId: '1', text: 'x' }, 1)
  alice.emit('doc:edit', { docId: '1', text: 'x' }, 'two', 'three')
  assert.equal((await edit(alice, '2', 'still here')).ok, true)
  assert.equal(node.counts['doc:edit'], before + 1)
  assert.equal(bob.connected, true)
})

test('handlers get exactly (payload, ack?) and ack is a function or absent', async () => {
  seen.length = 0
  alice.emit('doc:echo', { a: 1 })
  const acked = await alice.emitWithAck('doc:echo', { b: 2 })
  assert.deepEqual(acked, { ok: true, data: { args: 2 } })
  // An ack with no payload: the handler still sees (undefined, ack).
  const bare = await alice.emitWithAck('doc:echo')
  assert.deepEqual(bare, { ok: true, data: { args: 2 } })
  assert.equal(seen.length, 3)
  assert.deepEqual(seen[0], [{ a: 1 }])
  assert.deepEqual(seen[1]![0], { b: 2 })
  assert.equal(typeof seen[1]![1], 'function')
  assert.equal(seen[2]![0], undefined)
  assert.equal(typeof seen[2]![1], 'function')
})

test('a handler that throws is caught, logged and counted, and the node keeps serving', async () => {
  const errorsBefore = await handlerErrors()
  alice.emit('doc:boom', {})
  alice.emit('doc:reject', {})
  // An acked round trip after both: they have been dispatched by then.
  assert.equal((await edit(alice, '3', 'after the bug')).ok, true)
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(await handlerErrors(), errorsBefore + 2)
  const logged = node.logs.lines.filter((l) => l.includes('socket handler failed'))
  assert.ok(
    logged.some((l) => l.includes('"event":"doc:boom"')),
    'the sync throw is logged',
  )
  assert.ok(
    logged.some((l) => l.includes('"event":"doc:reject"')),
    'the rejection is logged',
  )
  assert.equal((await node.api('/healthz')).status, 200)
  // A bystander is served throughout.
  assert.equal((await edit(bob, '1', 'x')).error.code, 'forbidden')
})

test('a once listener still fires once and can be removed', async () => {
  const got: unknown[] = []
  const [server] = [...node.io!.sockets.sockets.values()].filter(
    (s) => (s.data as any).vigil?.principal.sub === 'alice',
  )
  assert.ok(server)
  const listener = (p: unknown): void => void got.push(p)
  server.once('doc:echo', listener)
  alice.emit('doc:echo', 1)
  alice.emit('doc:echo', 2)
  await alice.emitWithAck('doc:echo', 3)
  assert.deepEqual(got, [1])
  const removed = (): void => void got.push(-1)
  server.on('doc:echo', removed)
  server.off('doc:echo', removed)
  await alice.emitWithAck('doc:echo', 4)
  assert.deepEqual(got, [1])
  const disconnected = once(alice, 'disconnect')
  server.disconnect(true)
  await disconnected
})
