import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { createVigilClient, VigilError, type VigilClient } from '../src/index.js'
import { memoryStorage, startSdkNode, until, type SdkNode } from './helpers.js'

let node: SdkNode
const clients: VigilClient[] = []

before(async () => {
  node = await startSdkNode()
})
after(async () => {
  for (const c of clients) c.close()
  await node.close()
})

/** A connected client of a fresh session of `sub`, with its capabilities received. */
async function connect(sub: string, extra: Partial<Parameters<typeof createVigilClient>[0]> = {}) {
  const session = await node.session(sub)
  const vigil = createVigilClient({ url: node.url, session, ...extra })
  clients.push(vigil)
  await new Promise<void>((resolve) => vigil.on('capabilities', () => resolve()))
  return { vigil, session }
}

const code = (c: string) => (err: unknown) => err instanceof VigilError && err.code === c

describe('the enforced socket', () => {
  test('an allowed event resolves with the app handler ack', async () => {
    const { vigil } = await connect('alice')
    const ack = await vigil.emit('doc:edit', { docId: '42', text: 'hello' })
    assert.deepEqual(ack, { ok: true, data: { docId: '42', length: 5 } })
  })

  test('a denied event rejects with code forbidden, a bad payload with invalid_payload', async () => {
    const { vigil } = await connect('bob')
    await assert.rejects(vigil.emit('doc:edit', { docId: '42', text: 'x' }), code('forbidden'))
    await assert.rejects(vigil.emit('doc:edit', { docId: '' }), code('invalid_payload'))
    await assert.rejects(vigil.emit('not:mapped', {}), code('forbidden'))
    await assert.rejects(vigil.emit('vigil:refresh', {}), TypeError)
  })

  test('can() answers from the pushed capabilities, allow and deny patterns alike', async () => {
    const { vigil: alice } = await connect('alice')
    assert.equal(alice.can('doc:write', 'doc/42'), true)
    assert.equal(alice.can('doc:delete', 'doc/42'), false)
    assert.deepEqual(alice.capabilities?.roles, ['editor'])
    const { vigil: bob } = await connect('bob')
    assert.equal(bob.can('doc:read', 'doc/42'), true)
    assert.equal(bob.can('doc:write', 'doc/42'), false)
  })

  test('fetch sends the Bearer token and the enforcer lets it through', async () => {
    const { vigil } = await connect('alice')
    const res = await vigil.fetch(`${node.url}/api/docs/7`)
    assert.deepEqual(await res.json(), { id: '7', reader: 'alice' })
    await assert.rejects(vigil.fetch('https://elsewhere.example/api'), TypeError)
  })
})

describe('revocation', () => {
  test('a revoked session aborts in-flight work, emits revoked once and rejects every later call', async () => {
    const storage = memoryStorage()
    const { vigil, session } = await connect('alice', { storage })
    assert.notEqual(storage.getItem('vigil:session'), null)
    const revoked: unknown[] = []
    const hooks: string[] = []
    vigil.on('revoked', (e) => revoked.push(e))
    vigil.onTeardown((e) => void hooks.push(e.reason))
    const pending = vigil.fetch(`${node.url}/api/hold/1`)
    const stream = await vigil.fetch(`${node.url}/api/docs/1/export`)
    const reading = stream.text()
    await until(() => node.holding.get('hold') === 1 && node.holding.get('export') === 1, 'holds')

    // Watched before the revocation: its push may arrive before the API's answer does.
    const settled = Promise.all([
      assert.rejects(pending, code('revoked')),
      assert.rejects(reading, code('revoked')),
    ])
    const res = await node.api('/v1/revocations', {
      method: 'POST',
      json: { session: session.session_id, reason: 'test' },
    })
    assert.equal(res.status, 201)
    await settled
    assert.equal(revoked.length, 1)
    assert.deepEqual(hooks, ['revoked'])
    assert.equal(vigil.state, 'revoked')
    assert.equal(vigil.socket.connected, false)
    assert.equal(vigil.signal.aborted, true)
    assert.equal(storage.getItem('vigil:session'), null)
    assert.equal(vigil.can('doc:read', 'doc/1'), false)
    await assert.rejects(vigil.fetch(`${node.url}/api/docs/1`), code('revoked'))
    await assert.rejects(vigil.emit('doc:edit', { docId: '1', text: '' }), code('revoked'))
    await assert.rejects(vigil.accessToken(), code('revoked'))
    await until(
      () => !node.holding.get('hold') && !node.holding.get('export'),
      'server side closed',
    )
    // The socket does not come back on its own.
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(vigil.socket.connected, false)
    assert.equal(revoked.length, 1)
  })

  test('the other clients of the session tear down too, each emitting revoked once', async () => {
    const { vigil: first, session } = await connect('alice')
    const second = createVigilClient({ url: node.url, session })
    // The third holds the session without a socket: only the tab channel can tell it.
    const third = createVigilClient({ url: node.url, session, socket: { autoConnect: false } })
    clients.push(second, third)
    await until(() => second.capabilities !== null, 'the second connection')
    const seen = new Map<VigilClient, number>()
    for (const c of [first, second, third]) {
      c.on('revoked', () => seen.set(c, (seen.get(c) ?? 0) + 1))
    }
    await node.api('/v1/revocations', { method: 'POST', json: { session: session.session_id } })
    await until(() => [first, second, third].every((c) => c.state === 'revoked'), 'teardowns')
    // Socket and channel both tell the connected ones; the event still fires once.
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.deepEqual([...seen.values()], [1, 1, 1])
  })

  test('a session revoked before the handshake tears down on connect_error', async () => {
    const session = await node.session('alice')
    await node.api('/v1/revocations', { method: 'POST', json: { session: session.session_id } })
    const vigil = createVigilClient({ url: node.url, session })
    clients.push(vigil)
    const revoked = new Promise((resolve) => vigil.on('revoked', resolve))
    await revoked
    assert.equal(vigil.state, 'revoked')
  })
})

describe('step-down', () => {
  test('a step-down narrows can() and aborts requests whose permission was removed', async () => {
    const { vigil } = await connect('alice')
    const removed: unknown[] = []
    vigil.on('step-down', (e) => removed.push(...e.removed))
    const write = vigil.fetch(`${node.url}/api/docs/5?hold`, {
      method: 'PUT',
      permission: 'doc:write',
    })
    const exact = vigil.fetch(`${node.url}/api/docs/6?hold`, {
      method: 'PUT',
      permission: { action: 'doc:write', resource: 'doc/6' },
    })
    const read = vigil.fetch(`${node.url}/api/hold/5`, { permission: 'doc:read' })
    await until(() => node.holding.get('put-hold') === 2 && node.holding.get('hold') === 1, 'holds')

    // Watched before the step-down: its push may arrive before the API's answer does.
    const aborted = Promise.all([
      assert.rejects(write, code('forbidden')),
      assert.rejects(exact, code('forbidden')),
    ])
    await node.api('/v1/subjects/alice/roles', { method: 'PUT', json: { roles: ['viewer'] } })
    await aborted
    assert.equal(vigil.can('doc:write', 'doc/5'), false)
    assert.equal(vigil.can('doc:read', 'doc/5'), true)
    assert.deepEqual(removed, [{ action: 'doc:write', resource: 'doc/*' }])
    // The read is untouched: it still holds, until the client is closed.
    assert.equal(node.holding.get('hold'), 1)
    vigil.close()
    await assert.rejects(read, code('closed'))
    await node.api('/v1/subjects/alice/roles', { method: 'PUT', json: { roles: ['editor'] } })
  })
})
