import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { Redis } from 'ioredis'
import { io, type Socket } from 'socket.io-client'
import type { StepDownEvent, TokenPair } from '@vigil-enforcer/client/protocol'
import { createServiceClient, type ServiceRevokedEvent } from '@vigil-enforcer/client/service'
import {
  ROOT,
  VIGIL_BIN,
  sharedNodeEnv,
  startProcess,
  type NodeProcess,
  apiCaller,
} from '../helpers/process.js'
import { dropPrefix } from '../../server/test/helpers/redis.js'

const EMBEDDED_APP = `${ROOT}demo/src/embedded-app.ts`
const { prefix: PREFIX, apiKey: API_KEY, env } = sharedNodeEnv('emb')

let vigil: NodeProcess
let embedded: NodeProcess
const sockets: Socket[] = []

const call = apiCaller(API_KEY)

before(async () => {
  // The standalone `vigil` bin and an app embedding the enforcer, as two processes on one Redis.
  ;[vigil, embedded] = await Promise.all([
    startProcess(VIGIL_BIN, env),
    startProcess(EMBEDDED_APP, env),
  ])
  const seeded = await call(vigil, 'PUT', '/v1/policy', {
    roles: {
      viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
      editor: { permissions: [{ action: 'doc:*', resource: 'doc/*' }] },
    },
    bindings: { alice: ['editor'], bob: ['viewer'] },
  })
  assert.equal(seeded.status, 200)
})

after(async () => {
  for (const s of sockets) s.close()
  await Promise.all([vigil?.stop(), embedded?.stop()])
  await dropPrefix(PREFIX)
})

test('the embedded enforcer denies alice’s next message after a step-down made through the other process', async () => {
  const session = await call(vigil, 'POST', '/v1/sessions', { sub: 'alice' })
  assert.equal(session.status, 201)
  const { access_token: token } = session.json as TokenPair

  const socket = io(embedded.url, { auth: { token }, transports: ['websocket'] })
  sockets.push(socket)
  await new Promise((resolve) => socket.once('connect', () => resolve(undefined)))
  const edit = { docId: '7', text: 'draft' }
  assert.deepEqual(await socket.emitWithAck('doc:edit', edit), {
    ok: true,
    data: { docId: '7', length: 5 },
  })
  assert.equal((await call(embedded, 'GET', '/api/hello')).status, 200)

  const steppedDown = new Promise<StepDownEvent>((resolve) =>
    socket.once('vigil:step-down', resolve),
  )
  const stepped = await call(vigil, 'PUT', '/v1/subjects/alice/roles', { roles: ['viewer'] })
  assert.equal(stepped.status, 200)
  // A strong HTTP write honours the acknowledged change before the push has even arrived.
  const write = await call(embedded, 'PUT', '/api/docs/7', undefined, token)
  assert.equal(write.status, 403)
  assert.equal(write.json.error.code, 'forbidden')

  const event = await steppedDown
  assert.equal(event.version, stepped.json.version)
  assert.deepEqual(event.capabilities.roles, ['viewer'])
  const denied = await socket.emitWithAck('doc:edit', edit)
  assert.equal(denied.error.code, 'forbidden')
  assert.equal((await call(embedded, 'GET', '/api/docs/7', undefined, token)).status, 200)
})

test('a service on the embedded app’s feed receives a revocation made through the other process', async (t) => {
  const service = createServiceClient({ url: embedded.url, apiKey: API_KEY })
  t.after(() => service.close())
  await service.watch({ subjects: ['bob'] })
  const revoked = new Promise<ServiceRevokedEvent>((resolve) => service.on('revoked', resolve))
  const made = await call(vigil, 'POST', '/v1/revocations', { subject: 'bob', reason: 'left' })
  assert.equal(made.status, 201)
  const event = await revoked
  assert.deepEqual(
    { subject: event.subject, reason: event.reason, version: event.version },
    { subject: 'bob', reason: 'left', version: made.json.version },
  )
  const decided = await service.decide({ subject: 'bob', action: 'doc:read', resource: 'doc/7' })
  assert.deepEqual(
    { allow: decided.allow, version: decided.version >= event.version },
    {
      allow: false,
      version: true,
    },
  )
  assert.match(decided.reason, /revoked/)
})
