import assert from 'node:assert/strict'
import { after, before, describe, it, test } from 'node:test'
import { loadConfig } from '../../src/config.js'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { createSession, seedPolicy } from '../api/helpers.js'

/**
 * Issue #13, item 13: the routes a browser SDK calls from another origin answer CORS for the
 * allowed origins — `/v1/token`, `/v1/me`, `/.well-known/*` — preflights included, without
 * credentials unless `VIGIL_CORS_CREDENTIALS` says so; any other origin is refused. (The same in
 * Chromium, from a second origin: test/browser/cors.test.ts.)
 */

const APP = 'https://app.example'
const EVIL = 'https://evil.example'

async function preflight(node: TestNode, path: string, origin: string, method = 'POST') {
  return fetch(`${node.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': method,
      'access-control-request-headers': 'content-type, authorization',
    },
  })
}

describe('CORS on the browser-facing routes', () => {
  let node: TestNode
  before(async () => {
    node = await startNode({ env: { VIGIL_ALLOWED_ORIGINS: `${APP},http://other.example:8080` } })
    await seedPolicy(node)
  })
  after(() => node.close())

  it('answers a preflight from an allowed origin with its methods and headers, no credentials', async () => {
    for (const [path, method] of [
      ['/v1/token', 'POST'],
      ['/v1/me', 'GET'],
      ['/.well-known/jwks.json', 'GET'],
      ['/.well-known/openid-configuration', 'GET'],
    ] as const) {
      const res = await preflight(node, path, APP, method)
      assert.equal(res.status, 204, path)
      assert.equal(res.headers.get('access-control-allow-origin'), APP, path)
      assert.match(res.headers.get('access-control-allow-methods') ?? '', new RegExp(method))
      assert.equal(res.headers.get('access-control-allow-headers'), 'authorization, content-type')
      assert.equal(res.headers.get('access-control-max-age'), '600')
      assert.equal(res.headers.get('access-control-allow-credentials'), null, path)
      assert.match(res.headers.get('vary') ?? '', /Origin/i)
    }
    const token = await preflight(node, '/v1/token', APP)
    assert.equal(token.headers.get('cache-control'), 'no-store')
  })

  it('refuses a preflight from any other origin with 403 and no CORS headers', async () => {
    for (const path of ['/v1/token', '/v1/me', '/.well-known/jwks.json']) {
      for (const origin of [
        EVIL,
        'null',
        'https://app.example.evil.example',
        'http://app.example',
      ]) {
        const res = await preflight(node, path, origin)
        assert.equal(res.status, 403, `${path} from ${origin}`)
        assert.equal(res.headers.get('access-control-allow-origin'), null)
      }
    }
  })

  it('names the allowed origin on a refresh and on /v1/me, and exposes Retry-After', async () => {
    const session = await createSession(node, 'alice')
    const res = await fetch(`${node.url}/v1/token`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'refresh_token', refresh_token: session.refresh_token }),
    })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /retry-after/)
    const pair = (await res.json()) as { access_token: string }
    const me = await fetch(`${node.url}/v1/me`, {
      headers: { origin: APP, authorization: `Bearer ${pair.access_token}` },
    })
    assert.equal(me.status, 200)
    assert.equal(me.headers.get('access-control-allow-origin'), APP)
  })

  it("refuses a foreign origin's refresh before the refresh token is spent", async () => {
    const session = await createSession(node, 'alice')
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: session.refresh_token,
    })
    // A form POST is a "simple" request: a browser sends it without a preflight.
    const res = await fetch(`${node.url}/v1/token`, {
      method: 'POST',
      headers: { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    })
    assert.equal(res.status, 403)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.equal(res.headers.get('cache-control'), 'no-store')
    const body = (await res.json()) as { error: string; error_description: string }
    assert.equal(body.error, 'unauthorized_client')
    const me = await fetch(`${node.url}/v1/me`, {
      headers: { origin: EVIL, authorization: `Bearer ${session.access_token}` },
    })
    assert.equal(me.status, 403)
    assert.equal(((await me.json()) as { error: { code: string } }).error.code, 'origin_forbidden')
    // The token is still the session's live one.
    const mine = await fetch(`${node.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    })
    assert.equal(mine.status, 200)
  })

  it("lets a request without Origin, or from the node's own host, through untouched", async () => {
    const jwks = await fetch(`${node.url}/.well-known/jwks.json`)
    assert.equal(jwks.status, 200)
    assert.equal(jwks.headers.get('access-control-allow-origin'), null)
    const own = await fetch(`${node.url}/.well-known/jwks.json`, { headers: { origin: node.url } })
    assert.equal(own.status, 200)
  })

  it('leaves the other API routes without CORS', async () => {
    const res = await preflight(node, '/v1/sessions', APP)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
  })
})

describe('CORS with credentials, and with any origin', () => {
  it('answers Access-Control-Allow-Credentials only when VIGIL_CORS_CREDENTIALS is set', async () => {
    const node = await startNode({
      env: { VIGIL_ALLOWED_ORIGINS: APP, VIGIL_CORS_CREDENTIALS: 'true' },
    })
    try {
      const res = await preflight(node, '/v1/token', APP)
      assert.equal(res.headers.get('access-control-allow-credentials'), 'true')
      assert.equal(res.headers.get('access-control-allow-origin'), APP)
    } finally {
      await node.close()
    }
  })

  it('answers * to any origin when the allow-list is *', async () => {
    const node = await startNode({ env: { VIGIL_ALLOWED_ORIGINS: '*' } })
    try {
      const res = await preflight(node, '/v1/me', EVIL, 'GET')
      assert.equal(res.status, 204)
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      assert.equal(res.headers.get('access-control-allow-credentials'), null)
    } finally {
      await node.close()
    }
  })
})

test('VIGIL_CORS_CREDENTIALS with the * origin is a configuration error', () => {
  const result = loadConfig({ VIGIL_ALLOWED_ORIGINS: '*', VIGIL_CORS_CREDENTIALS: 'true' })
  assert.equal(result.ok, false)
  assert.match(result.ok ? '' : result.problems.join('\n'), /VIGIL_CORS_CREDENTIALS/)
  const bad = loadConfig({ VIGIL_CORS_CREDENTIALS: 'yes' })
  assert.equal(bad.ok, false)
})
