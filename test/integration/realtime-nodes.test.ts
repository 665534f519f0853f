import assert from 'node:assert/strict'
import { once as onceEmitted, type EventEmitter } from 'node:events'
import { after, before, test } from 'node:test'
import { io, type Socket } from 'socket.io-client'
import {
  ENFORCED_NODE,
  VIGIL_BIN,
  startProcess,
  type NodeProcess,
  apiCaller,
  sharedNodeEnv,
} from '../helpers/process.js'
import { dropPrefix } from '../../server/test/helpers/redis.js'

const { prefix: PREFIX, apiKey: API_KEY, env } = sharedNodeEnv('rt')
const READ = { action: 'doc:read', resource: 'doc/*' }
const WRITE = { action: 'doc:write', resource: 'doc/*' }

/** `once` from node:events for a socket.io client, whose emitter is not typed as Node's. */
const once = (socket: Socket, event: string): Promise<any[]> =>
  onceEmitted(socket as unknown as EventEmitter, event)

let a: NodeProcess
let b: NodeProcess
const sockets = new Set<Socket>()

const call = apiCaller(API_KEY)

/** Polls the node's readiness endpoint (bounded) until it decides with at least `version`. */
async function waitForVersion(node: NodeProcess, version: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const body = (await (await fetch(`${node.url}/readyz`)).json()) as { version?: number }
    if ((body.version ?? -1) >= version) return
    await new Promise((r) => setImmediate(r))
  }
  assert.fail(`node never reached version ${version}`)
}

/** Mints a session on node A and connects its socket to node B. */
async function connectToB(sub: string): Promise<Socket> {
  const session = await call(a, 'POST', '/v1/sessions', { sub })
  assert.equal(session.status, 201, JSON.stringify(session.json))
  const socket = io(b.url, {
    auth: { token: session.json.access_token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  })
  sockets.add(socket)
  const hello = once(socket, 'vigil:capabilities')
  const refused = once(socket, 'connect_error').then(([err]) => {
    throw new Error(`connect refused: ${(err as any)?.data?.code}`)
  })
  await Promise.race([hello, refused])
  return socket
}

const edit = (socket: Socket, docId = '1'): Promise<any> =>
  socket.emitWithAck('doc:edit', { docId, text: 'hello' })

before(async () => {
  // Node A is the real `vigil` bin, where the admin acts; clients hold sockets on node B.
  ;[a, b] = await Promise.all([startProcess(VIGIL_BIN, env), startProcess(ENFORCED_NODE, env)])
  const seeded = await call(a, 'PUT', '/v1/policy', {
    roles: { viewer: { permissions: [READ] }, editor: { permissions: [READ, WRITE] } },
    bindings: { alice: ['editor'], dave: ['editor'], bob: ['viewer'] },
  })
  assert.equal(seeded.status, 200, JSON.stringify(seeded.json))
  await waitForVersion(b, seeded.json.version)
})

after(async () => {
  for (const s of sockets) s.close()
  await Promise.all([a?.stop(), b?.stop()])
  await dropPrefix(PREFIX)
})

test('a revocation made through node A reaches a socket on node B as vigil:revoked and closes it', async () => {
  const dave = await connectToB('dave')
  const alice = await connectToB('alice')
  assert.deepEqual(await edit(dave), { ok: true, data: { docId: '1', length: 5 } })

  const revoked = once(dave, 'vigil:revoked')
  const closed = once(dave, 'disconnect')
  const res = await call(a, 'POST', '/v1/revocations', { subject: 'dave', reason: 'offboarded' })
  assert.equal(res.status, 201)
  const [event] = await revoked
  assert.equal(event.reason, 'offboarded')
  assert.equal(event.version, res.json.version)
  assert.equal(typeof event.at, 'number')
  assert.ok(event.at <= Date.now())
  assert.equal(event.at, res.json.at)
  assert.equal((await closed)[0], 'io server disconnect')

  // Another subject's socket on the same node keeps working.
  assert.deepEqual(await edit(alice, '2'), { ok: true, data: { docId: '2', length: 5 } })
  assert.equal(alice.connected, true)
})

test('a step-down made through node A reaches a socket on node B, and its next edit is forbidden', async () => {
  const alice = await connectToB('alice')
  assert.equal((await edit(alice)).ok, true)

  const stepped = once(alice, 'vigil:step-down')
  const res = await call(a, 'PUT', '/v1/subjects/alice/roles', { roles: ['viewer'] })
  assert.equal(res.status, 200)
  const [event] = await stepped
  assert.equal(event.version, res.json.version)
  assert.deepEqual(event.removed, [WRITE])
  assert.deepEqual(event.capabilities, { roles: ['viewer'], allow: [READ], deny: [] })
  assert.equal((await edit(alice)).error.code, 'forbidden')
  assert.equal(alice.connected, true)

  const up = once(alice, 'vigil:step-up')
  assert.equal(
    (await call(a, 'PUT', '/v1/subjects/alice/roles', { roles: ['editor'] })).status,
    200,
  )
  assert.deepEqual((await up)[0].added, [WRITE])
  assert.equal((await edit(alice)).ok, true)
})
