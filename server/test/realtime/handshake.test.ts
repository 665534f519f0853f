import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { SignJWT, importJWK } from 'jose'
import { createRedisStore } from '../../src/store/redis-store.js'
import type { PolicyStore } from '../../src/store/types.js'
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js'
import { dropPrefix, REDIS_URL, testPrefix } from '../helpers/redis.js'
import {
  change,
  createClients,
  edit,
  mint,
  startRealtimeNode,
  type RealtimeNode,
} from './helpers.js'

const clients = createClients()

describe('the socket handshake on an in-memory node', () => {
  let node: RealtimeNode

  before(async () => {
    node = await startRealtimeNode()
  })
  after(async () => {
    clients.closeAll()
    await node.close()
  })

  /** Signs an access token the node would accept but for its `exp`, with the node's own key. */
  async function expiredToken(expiredForS: number): Promise<string> {
    const keys = await node.enforcer.store.listKeys()
    const key = keys
      .filter((k) => k.retireAt === undefined)
      .sort((a, b) => b.createdAt - a.createdAt)[0]
    assert.ok(key, 'the node has a signing key')
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT({ sid: 's-expired' })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt' })
      .setIssuer(node.enforcer.config.issuer)
      .setAudience(node.enforcer.config.audience)
      .setSubject('alice')
      .setJti(randomBytes(8).toString('hex'))
      .setIssuedAt(now - 600)
      .setExpirationTime(now - expiredForS)
      .sign(await importJWK(key.privateJwk, key.alg))
  }

  test('a socket with a valid token connects and is told its capabilities', async () => {
    const { access_token } = await mint(node, 'alice')
    const { socket, capabilities } = await clients.connect(node.url, access_token)
    assert.equal(capabilities.version, node.enforcer.live.current().version)
    assert.deepEqual(capabilities.capabilities, {
      roles: ['editor'],
      allow: [
        { action: 'doc:read', resource: 'doc/*' },
        { action: 'doc:write', resource: 'doc/*' },
      ],
      deny: [],
    })
    assert.deepEqual(await edit(socket), { ok: true, data: { docId: '1', length: 5 } })
  })

  test('a socket without a token is refused with token_missing', async () => {
    assert.equal(await clients.refusal(node.url), 'token_missing')
  })

  test('a socket with a garbage token is refused with token_invalid', async () => {
    assert.equal(await clients.refusal(node.url, 'not.a.jwt'), 'token_invalid')
    assert.equal(await clients.refusal(node.url, 'garbage'), 'token_invalid')
  })

  test('a token that is not a string is refused with token_invalid', async () => {
    const code = await clients.refusal(node.url, undefined, { auth: { token: 42 } })
    assert.equal(code, 'token_invalid')
  })

  test('an expired token is refused with token_expired, beyond and within the clock tolerance', async () => {
    assert.equal(await clients.refusal(node.url, await expiredToken(300)), 'token_expired')
    assert.equal(await clients.refusal(node.url, await expiredToken(5)), 'token_expired')
  })

  test("a revoked subject's token is refused with revoked", async () => {
    await change(node, 'PUT', '/v1/subjects/erin/roles', { roles: ['editor'] })
    const { access_token } = await mint(node, 'erin')
    await change(node, 'POST', '/v1/revocations', { subject: 'erin', reason: 'offboarded' })
    assert.equal(await clients.refusal(node.url, access_token), 'revoked')
  })

  test('a token in the query string only is never read: token_missing', async () => {
    const { access_token } = await mint(node, 'alice')
    const code = await clients.refusal(node.url, undefined, {
      query: { token: access_token, access_token },
    })
    assert.equal(code, 'token_missing')
  })

  test('a disallowed Origin is refused with origin_forbidden even with a valid token', async () => {
    const { access_token } = await mint(node, 'alice')
    const code = await clients.refusal(node.url, access_token, {
      extraHeaders: { origin: 'https://evil.example' },
    })
    assert.equal(code, 'origin_forbidden')
    // An allowed origin with the same token is let in: the refusal was about the origin.
    const allowed = node.enforcer.config.allowedOrigins[0]!
    const { socket } = await clients.connect(node.url, access_token, {
      extraHeaders: { origin: allowed },
    })
    assert.equal(socket.connected, true)
  })

  test('a handshake with no Origin header (a service, a CLI) is let in, but only with a token', async () => {
    // Node's socket.io client sends no Origin, as non-browser clients do (README, Realtime).
    const { access_token } = await mint(node, 'alice')
    const { socket } = await clients.connect(node.url, access_token)
    assert.equal(socket.connected, true)
    assert.equal(await clients.refusal(node.url), 'token_missing')
    assert.equal(await clients.refusal(node.url, 'garbage'), 'token_invalid')
  })
})

describe('the socket handshake on a node cut off from Redis', () => {
  const prefix = testPrefix('rt')
  let proxy: TcpProxy
  let store: PolicyStore
  let node: RealtimeNode

  before(async () => {
    proxy = await startTcpProxy(REDIS_URL)
    store = createRedisStore({ url: proxy.url, prefix, blockMs: 100 })
    node = await startRealtimeNode({ store, env: { VIGIL_MAX_STALENESS_MS: '400' } })
  })
  after(async () => {
    clients.closeAll()
    await node.close()
    await store.close()
    await proxy.close()
    await dropPrefix(prefix)
  })

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    // Bounded: a 400 ms staleness bound and a 100 ms XREAD block; seconds are plenty under load.
    for (let i = 0; i < 2000; i++) {
      if (await check()) return
      await new Promise((r) => setTimeout(r, 5))
    }
    assert.fail(`timed out waiting for ${what}`)
  }

  test('a node that cannot confirm the policy refuses sockets with policy_stale, then lets them in again', async () => {
    const { access_token } = await mint(node, 'alice')
    proxy.cut()
    await until(async () => (await fetch(`${node.url}/readyz`)).status === 503, 'readyz 503')
    assert.equal(await clients.refusal(node.url, access_token), 'policy_stale')

    proxy.restore()
    await until(async () => (await fetch(`${node.url}/readyz`)).status === 200, 'readyz 200')
    const { socket } = await clients.connect(node.url, access_token)
    assert.deepEqual(await edit(socket), { ok: true, data: { docId: '1', length: 5 } })
  })
})
