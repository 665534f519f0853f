import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import express from 'express'
import { createLogger, loadConfig, startStandalone, type Standalone } from '@vigil-enforcer/server'
import { startDemo, type Demo } from '../src/app.js'
import { startEmbeddedApp, type EmbeddedApp } from '../src/embedded-app.js'

const API_KEY = 'demo-test-api-key-0123456789abcdef'
const silent = () => createLogger({ level: 'silent', nodeId: 'page-security' })

function config(env: Record<string, string> = {}) {
  const parsed = loadConfig({ PORT: '0', VIGIL_API_KEY: API_KEY, LOG_LEVEL: 'silent', ...env })
  assert.ok(parsed.ok)
  return parsed.config
}

/** A raw HTTP request: unlike fetch, it may set any `Host` header. */
function raw(
  url: string,
  options: { method?: string; path: string; host?: string; body?: string; type?: string },
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const req = request(
      {
        hostname,
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: {
          ...(options.host ? { host: options.host } : {}),
          ...(options.body !== undefined
            ? { 'content-type': options.type ?? 'application/json' }
            : {}),
        },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (c: string) => (text += c))
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }))
      },
    )
    req.on('error', reject)
    req.end(options.body)
  })
}

/** A JSON error answer with `code`, and nothing of a stack trace or an HTML page in it. */
function assertJsonError(
  res: { status: number; headers: Record<string, unknown>; text: string },
  status: number,
  code: string,
): void {
  assert.equal(res.status, status, res.text)
  assert.match(String(res.headers['content-type']), /^application\/json/)
  assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, code)
  assert.doesNotMatch(res.text, /<html|<pre>|at [\w.]+ \(|node_modules/i)
}

describe('the demo pages', () => {
  let demo: Demo
  before(async () => {
    demo = await startDemo(config(), silent())
  })
  after(() => demo.close())

  it('every page and static file is sent with CSP, no framing, nosniff and no referrer', async () => {
    for (const path of ['/', '/admin', '/static/admin.js', '/static/style.css', '/demo/users']) {
      const res = await fetch(`${demo.url}${path}`)
      assert.equal(res.status, 200, path)
      const csp = res.headers.get('content-security-policy') ?? ''
      assert.match(csp, /frame-ancestors 'none'/, path)
      assert.match(csp, /script-src 'self'(;|$)/, path)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path)
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path)
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path)
      await res.arrayBuffer()
    }
  })

  it('the pages hold no inline script or style that the CSP would block', async () => {
    for (const path of ['/', '/admin']) {
      const html = await (await fetch(`${demo.url}${path}`)).text()
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path}: inline <script>`)
      assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, `${path}: inline style or handler`)
    }
  })

  it('malformed JSON to every demo JSON route is answered 400 invalid_json, not an HTML trace', async () => {
    for (const [method, path] of [
      ['POST', '/demo/login'],
      ['POST', '/demo/telemetry'],
      ['PUT', '/api/docs/1'],
    ] as const) {
      const res = await raw(demo.url, { method, path, body: '{"sub":' })
      assertJsonError(res, 400, 'invalid_json')
    }
  })

  it('/demo/login refuses a Host header it does not serve with 403 origin_forbidden', async () => {
    const { port } = new URL(demo.url)
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`]) {
      const res = await raw(demo.url, {
        method: 'POST',
        path: '/demo/login',
        host,
        body: JSON.stringify({ sub: 'carol' }),
      })
      assertJsonError(res, 403, 'origin_forbidden')
      assert.doesNotMatch(res.text, /access_token/)
    }
  })

  it('/demo/login signs in on the hosts the demo listens on', async () => {
    const { port } = new URL(demo.url)
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const res = await raw(demo.url, {
        method: 'POST',
        path: '/demo/login',
        host,
        body: JSON.stringify({ sub: 'bob' }),
      })
      assert.equal(res.status, 201, res.text)
      assert.match(res.text, /access_token/)
    }
  })

  it('/demo/login signs in on a host named by VIGIL_ALLOWED_ORIGINS', async () => {
    const other = await startDemo(
      config({ VIGIL_ALLOWED_ORIGINS: 'https://demo.example.com' }),
      silent(),
    )
    try {
      const login = (host: string) =>
        raw(other.url, {
          method: 'POST',
          path: '/demo/login',
          host,
          body: JSON.stringify({ sub: 'bob' }),
        })
      assert.equal((await login('demo.example.com')).status, 201)
      assertJsonError(await login('demo.example.com.evil.example'), 403, 'origin_forbidden')
    } finally {
      await other.close()
    }
  })
})

describe('apps around Vigil answer errors as JSON', () => {
  let standalone: Standalone
  let embedded: EmbeddedApp
  before(async () => {
    standalone = await startStandalone(config(), silent(), (app) => {
      app.post('/api/notes', express.json(), (_req, res) => void res.json({ ok: true }))
      app.get('/api/boom', () => {
        throw new Error('secret detail at /home/app/server.js:12')
      })
    })
    embedded = await startEmbeddedApp(config({ LOG_LEVEL: 'silent' }))
  })
  after(async () => {
    await standalone.drain(100)
    await embedded.close()
  })

  it('a standalone app route given malformed JSON answers 400 invalid_json', async () => {
    const res = await raw(standalone.url, { method: 'POST', path: '/api/notes', body: '{' })
    assertJsonError(res, 400, 'invalid_json')
  })

  it('a standalone app route that throws answers 500 internal without its message or stack', async () => {
    const res = await raw(standalone.url, { path: '/api/boom' })
    assertJsonError(res, 500, 'internal')
    assert.doesNotMatch(res.text, /secret detail/)
  })

  it('the embedded app answers a body over its limit with 413 JSON, not an HTML page', async () => {
    const api = (path: string, method: string, json: unknown) =>
      fetch(`${embedded.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(json),
      })
    const policy = {
      roles: { editor: { permissions: [{ action: 'doc:write', resource: 'doc/*' }] } },
      bindings: { alice: ['editor'] },
    }
    assert.equal((await api('/v1/policy', 'PUT', policy)).status, 200)
    const session = await api('/v1/sessions', 'POST', { sub: 'alice' })
    const { access_token: token } = (await session.json()) as { access_token: string }
    const res = await fetch(`${embedded.url}/api/docs/1`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body: 'x'.repeat(20_000),
    })
    assertJsonError(
      {
        status: res.status,
        headers: { 'content-type': res.headers.get('content-type') },
        text: await res.text(),
      },
      413,
      'payload_too_large',
    )
  })
})
