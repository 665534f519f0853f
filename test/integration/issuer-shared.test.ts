import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { after, test } from 'node:test'
import { dropPrefix, REDIS_URL, testPrefix } from '../../server/test/helpers/redis.js'
import { apiCaller, ROOT, VIGIL_BIN, startProcess, type NodeProcess } from '../helpers/process.js'

/**
 * One deployment, one issuer: two `vigil` processes started as the README says — the same
 * REDIS_URL, different ports, nothing else set — accept each other's tokens and the one
 * development API key the first of them printed.
 */

const PREFIX = testPrefix('issuer')
const env = { REDIS_URL, VIGIL_REDIS_PREFIX: PREFIX }
const nodes: NodeProcess[] = []

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  await dropPrefix(PREFIX)
})

test('issuer shared: two nodes on one store accept each other’s tokens and one API key', async () => {
  const a = await startProcess(VIGIL_BIN, env)
  nodes.push(a)
  const printed = /VIGIL_API_KEY \(generated for this run\): (\S+)/.exec(a.stderr())
  assert.ok(printed, 'node A prints the key it generated')
  const b = await startProcess(VIGIL_BIN, env)
  nodes.push(b)
  assert.doesNotMatch(b.stderr(), /generated for this run/)
  assert.match(b.stderr(), /generated and printed by node/)

  const call = apiCaller(printed[1]!)
  const session = await call(b, 'POST', '/v1/sessions', { sub: 'alice' })
  assert.equal(session.status, 201, 'node B accepts the key node A printed')
  const token = session.json.access_token as string
  for (const node of [a, b]) {
    const me = await call(node, 'GET', '/v1/me', undefined, token)
    assert.equal(me.status, 200, `a token minted on B verifies on ${node.url}`)
  }
  const discovered = await (await fetch(`${b.url}/.well-known/openid-configuration`)).json()
  const issuerA = (await (await fetch(`${a.url}/.well-known/openid-configuration`)).json()).issuer
  assert.equal(discovered.issuer, issuerA)
})

test('a node whose VIGIL_ISSUER disagrees with the store’s refuses to start and says why', async () => {
  const child = spawn(process.execPath, [VIGIL_BIN], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      ...env,
      VIGIL_ISSUER: 'https://other.example',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const [code] = await once(child, 'exit')
  assert.equal(code, 1)
  assert.match(
    output,
    /VIGIL_ISSUER is \\?"https:\/\/other\.example\\?" but this store's deployment/,
  )
})
