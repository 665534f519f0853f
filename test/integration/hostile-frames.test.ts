import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { io, type Socket } from 'socket.io-client'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import { dropPrefix } from '../../server/test/helpers/redis.js'
import {
  ROOT,
  apiCaller,
  sharedNodeEnv,
  startProcess,
  type NodeProcess,
} from '../helpers/process.js'

/**
 * The crash of issue #13 (item 1), against the real processes a user runs: the demo and the
 * embedding example. A frame with a valid payload and a stray argument used to end the process.
 */

const DEMO = `${ROOT}demo/src/main.ts`
const EMBEDDED_APP = `${ROOT}demo/src/embedded-app.ts`
const { prefix: PREFIX, apiKey: API_KEY, env } = sharedNodeEnv('hostile')
const call = apiCaller(API_KEY)
const sockets: Socket[] = []
let demo: NodeProcess
let embedded: NodeProcess

before(async () => {
  ;[demo, embedded] = await Promise.all([
    // The demo on its embedded default store seeds its own policy (alice is an editor).
    startProcess(DEMO, { VIGIL_API_KEY: API_KEY, VIGIL_ISSUER: 'http://vigil.test' }),
    startProcess(EMBEDDED_APP, env),
  ])
  const seeded = await call(embedded, 'PUT', '/v1/policy', {
    roles: { editor: { permissions: [{ action: 'doc:*', resource: 'doc/*' }] } },
    bindings: { alice: ['editor'] },
  })
  assert.equal(seeded.status, 200)
})

after(async () => {
  for (const s of sockets) s.close()
  await Promise.all([demo?.stop(), embedded?.stop()])
  await dropPrefix(PREFIX)
})

async function editorSocket(node: NodeProcess): Promise<Socket> {
  const session = await call(node, 'POST', '/v1/sessions', { sub: 'alice' })
  assert.equal(session.status, 201)
  const { access_token: token } = session.json as TokenPair
  const socket = io(node.url, { auth: { token }, transports: ['websocket'], reconnection: false })
  sockets.push(socket)
  await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined))
    socket.once('connect_error', reject)
  })
  return socket
}

for (const [name, node] of [
  ['the demo', () => demo],
  ['the embedded app', () => embedded],
] as const) {
  test(`${name} survives an editor's doc:edit with a stray argument, acked or not`, async () => {
    const socket = await editorSocket(node())
    // 421["doc:edit",{"docId":"1","text":"x"},1] and its ack-less twin 42[…,1].
    const acked = await socket.timeout(3000).emitWithAck('doc:edit', { docId: '1', text: 'x' }, 1)
    assert.equal(acked.error.code, 'invalid_payload')
    socket.emit('doc:edit', { docId: '1', text: 'x' }, 1)
    // A plain emit with no ack: the handler must not call an ack that is not there.
    socket.emit('doc:edit', { docId: '1', text: 'plain' })
    const ok = await socket.timeout(3000).emitWithAck('doc:edit', { docId: '1', text: 'y' })
    assert.equal(ok.ok, true)
    assert.equal(node().child.exitCode, null, 'the process is still running')
    assert.equal((await fetch(`${node().url}/healthz`)).status, 200)
  })
}
