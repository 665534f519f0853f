import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { after, before, test } from 'node:test'
import { VigilError } from '@vigil-enforcer/client/protocol'
import { VIGIL_BIN, apiCaller, startProcess, type NodeProcess } from '../helpers/process.js'
import { createRedisStore } from '../../server/src/store/redis-store.js'
import {
  startRedisServer,
  stopAll,
  type RedisNode,
} from '../../server/test/helpers/redis-topology.js'
import {
  createTestCertificates,
  type TestCertificates,
} from '../../server/test/helpers/test-certificates.js'

// REDIS_URL=rediss://… against a redis-server this file starts with TLS only (no plaintext
// port) and a certificate from a throwaway CA: the node verifies it like any TLS client.
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`
const API_KEY = `it-${randomBytes(16).toString('hex')}`
const call = apiCaller(API_KEY)

let certs: TestCertificates & { dir: string }
let server: RedisNode
const nodes: NodeProcess[] = []

before(async () => {
  certs = createTestCertificates()
  server = await startRedisServer({ tls: certs, password: PASSWORD })
})
after(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  await stopAll()
  rmSync(certs.dir, { recursive: true, force: true })
})

const tlsUrl = (): string => `rediss://:${PASSWORD}@127.0.0.1:${server.port}`
const env = () => ({
  REDIS_URL: tlsUrl(),
  VIGIL_API_KEY: API_KEY,
  VIGIL_ISSUER: 'http://vigil.test',
  VIGIL_REDIS_PREFIX: `{vigil-tls-${randomBytes(4).toString('hex')}}:`,
})

test('a node on a rediss:// URL works over TLS when it trusts the CA, and never logs the password', async () => {
  const node = await startProcess(VIGIL_BIN, { ...env(), NODE_EXTRA_CA_CERTS: certs.caFile })
  nodes.push(node)
  const revoked = await call(node, 'POST', '/v1/revocations', { subject: 'mallory' })
  assert.equal(revoked.status, 201, JSON.stringify(revoked.json))
  // Read back over TLS with our own client: the change is in that server.
  const admin = server.client()
  try {
    await admin.connect()
    const keys = await admin.keys('{vigil-tls-*')
    assert.ok(keys.some((k) => k.endsWith('doc:rev:subjects')))
  } finally {
    admin.disconnect()
  }
  assert.ok(node.lines.some((l) => l.includes(`"store":"rediss://***@127.0.0.1:${server.port}`)))
  assert.ok(!node.lines.some((l) => l.includes(PASSWORD)))
})

test('a node that cannot verify the server certificate refuses to start, with no plaintext fallback', async () => {
  const child = spawn(process.execPath, [VIGIL_BIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  assert.equal(code, 1, output)
  assert.match(output, /"msg":"could not start"/)
  assert.match(output, /"code":"store_unavailable"/)
  assert.ok(!output.includes(PASSWORD))
})

test('a store on a rediss:// URL it cannot verify fails closed with store_unavailable', async () => {
  const store = createRedisStore({ url: tlsUrl(), prefix: '{vigil-tls-untrusted}:' })
  try {
    await assert.rejects(store.load(), (err: unknown) => {
      assert.ok(err instanceof VigilError)
      assert.equal(err.code, 'store_unavailable')
      return true
    })
  } finally {
    await store.close()
  }
})
