import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once as onceEmitted, type EventEmitter } from 'node:events'
import { after, before, test } from 'node:test'
import { io, type Socket } from 'socket.io-client'
import {
  ENFORCED_NODE,
  VIGIL_BIN,
  apiCaller,
  startProcess,
  type NodeProcess,
} from '../helpers/process.js'
import {
  startCluster,
  stopAll,
  type ClusterSetup,
} from '../../server/test/helpers/redis-topology.js'

// Two enforcer processes configured only by REDIS_CLUSTER_NODES (+ REDIS_PASSWORD), on a
// 3-master cluster this file starts: a change made through either is enforced by the other.
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`
const API_KEY = `it-${randomBytes(16).toString('hex')}`
const call = apiCaller(API_KEY)
const once = (socket: Socket, event: string): Promise<any[]> =>
  onceEmitted(socket as unknown as EventEmitter, event)

let cluster: ClusterSetup
let a: NodeProcess
let b: NodeProcess
const sockets = new Set<Socket>()

before(async () => {
  cluster = await startCluster(3, { password: PASSWORD })
  const env = {
    ...cluster.env,
    REDIS_PASSWORD: PASSWORD,
    VIGIL_API_KEY: API_KEY,
    VIGIL_ISSUER: 'http://vigil.test',
    VIGIL_REDIS_PREFIX: `{vigil-cl-${randomBytes(4).toString('hex')}}:`,
  }
  ;[a, b] = await Promise.all([startProcess(VIGIL_BIN, env), startProcess(ENFORCED_NODE, env)])
  const seeded = await call(a, 'PUT', '/v1/policy', {
    roles: {
      editor: {
        permissions: [
          { action: 'doc:read', resource: 'doc/*' },
          { action: 'doc:write', resource: 'doc/*' },
        ],
      },
    },
    bindings: { alice: ['editor'], dave: ['editor'] },
  })
  assert.equal(seeded.status, 200, JSON.stringify(seeded.json))
})

after(async () => {
  for (const s of sockets) s.close()
  await Promise.all([a?.stop(), b?.stop()])
  await stopAll()
})

test('a node started with REDIS_CLUSTER_NODES logs the cluster, never a password, and reports the store up', async () => {
  assert.ok(a.lines.some((l) => l.includes('"store":"cluster 127.0.0.1:')))
  assert.ok(![...a.lines, ...b.lines].some((l) => l.includes(PASSWORD)))
  const metrics = await (await fetch(`${b.url}/metrics`)).text()
  assert.match(metrics, /^vigil_store_up\{[^}]*\} 1$/m)
  assert.match(metrics, /^vigil_store_outages_total\{[^}]*\} 0$/m)
})

test('a revocation made through node A on the cluster closes a socket on node B and B refuses the token', async () => {
  const session = await call(a, 'POST', '/v1/sessions', { sub: 'dave' })
  assert.equal(session.status, 201, JSON.stringify(session.json))
  const token: string = session.json.access_token
  assert.equal((await call(b, 'GET', '/v1/me', undefined, token)).status, 200)
  const socket = io(b.url, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  })
  sockets.add(socket)
  await once(socket, 'vigil:capabilities')

  const revoked = once(socket, 'vigil:revoked')
  const res = await call(a, 'POST', '/v1/revocations', { subject: 'dave', reason: 'offboarded' })
  assert.equal(res.status, 201)
  const [event] = await revoked
  assert.equal(event.version, res.json.version)
  const me = await call(b, 'GET', '/v1/me', undefined, token)
  assert.equal(me.status, 401)
  assert.equal(me.json.error.code, 'revoked')
})

test('a step-down made through node B on the cluster reaches node A through the change log', async () => {
  const token: string = (await call(a, 'POST', '/v1/sessions', { sub: 'alice' })).json.access_token
  assert.equal((await call(b, 'PUT', '/api/strong/docs/1', undefined, token)).status, 200)
  const stepped = await call(b, 'PUT', '/v1/subjects/alice/roles', { roles: [] })
  assert.equal(stepped.status, 200)
  assert.equal((await call(b, 'PUT', '/api/strong/docs/1', undefined, token)).status, 403)
  await waitForVersion(a, stepped.json.version)
  const decided = await call(a, 'POST', '/v1/decisions', {
    token,
    action: 'doc:write',
    resource: 'doc/1',
  })
  assert.equal(decided.json.allow, false)
  assert.equal(decided.json.version, stepped.json.version)
})

/** Polls the node's readiness endpoint (bounded) until it decides with at least `version`. */
async function waitForVersion(node: NodeProcess, version: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const body = (await (await fetch(`${node.url}/readyz`)).json()) as { version?: number }
    if ((body.version ?? -1) >= version) return
    await new Promise((r) => setImmediate(r))
  }
  assert.fail(`node never reached version ${version}`)
}
