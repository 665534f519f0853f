import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startSdkNode, type SdkNode } from '../../client-sdk/test/helpers.js'
import type { TokenPair } from '../../client-sdk/src/index.js'
import { buildBundle, chromiumMissing, launchBrowser, type Browser } from './helpers.js'

/**
 * Issue #13, item 13, in a real browser: an app on origin B embeds the SDK from the enforcer on
 * origin A and renews its tokens against A — the README's cross-origin embedding — while a page
 * on origin C, not in `VIGIL_ALLOWED_ORIGINS`, gets nothing from A.
 */

const skip = chromiumMissing()
if (!skip) buildBundle()

interface Outcome {
  renewed?: boolean
  me?: { status: number; sub?: string }
  error?: string
  connected?: boolean
}

declare global {
  interface Window {
    corsTest: {
      /** Starts a client on `session` (its access token due for renewal) and renews it. */
      renew(a: string, session: TokenPair): Promise<Outcome>
      /** A plain fetch; resolves with its status or the name of what it rejected with. */
      raw(url: string, init: RequestInit): Promise<{ status?: number; error?: string }>
    }
  }
}

/** The app's page: loads the SDK from the enforcer's origin, as the README shows. */
const page = (a: string): string => `<!doctype html>
<meta charset="utf-8">
<title>cross-origin app</title>
<script type="module">
import { createVigilClient } from '${a}/sdk/vigil.js'
window.corsTest = {
  async renew(a, session) {
    const c = createVigilClient({ url: a, session, storage: window.sessionStorage, broadcast: false })
    try {
      const token = await c.accessToken()
      const res = await c.fetch(a + '/v1/me')
      const body = await res.json()
      const connected = await new Promise((resolve) => {
        if (c.socket.connected) return resolve(true)
        c.socket.once('connect', () => resolve(true))
        c.socket.once('connect_error', (err) => resolve(err?.data?.code ?? err.message))
      })
      return { renewed: token !== session.access_token, me: { status: res.status, sub: body.sub }, connected }
    } catch (err) {
      return { error: err.code ?? err.name }
    } finally {
      c.close()
    }
  },
  async raw(url, init) {
    try {
      return { status: (await fetch(url, init)).status }
    } catch (err) {
      return { error: err.name }
    }
  },
}
</script>`

/**
 * Serves the app page on `http://localhost:<port>`: another origin than the node's 127.0.0.1.
 * `enforcer()` names the node's origin, known only once the node listens.
 */
async function appOrigin(enforcer: () => string): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(page(enforcer()))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://localhost:${(server.address() as AddressInfo).port}`, server }
}

/** The pair as if received long ago: the SDK must renew before it uses the access token. */
const due = (pair: TokenPair): TokenPair => ({ ...pair, expires_in: 0 })

describe('the SDK on another origin than the enforcer', { skip }, () => {
  let node: SdkNode
  let allowed: { url: string; server: Server }
  let foreign: { url: string; server: Server }
  let browser: Browser

  before(async () => {
    allowed = await appOrigin(() => node.url)
    foreign = await appOrigin(() => node.url)
    node = await startSdkNode({ env: { VIGIL_ALLOWED_ORIGINS: allowed.url } })
    browser = await launchBrowser()
  })

  after(async () => {
    await browser?.close()
    allowed?.server.close()
    foreign?.server.close()
    await node?.close()
  })

  async function open(origin: string) {
    const tab = await browser.context.newPage()
    const errors: string[] = []
    tab.on('pageerror', (err) => errors.push(err.message))
    await tab.goto(`${origin}/app.html`)
    await tab
      .waitForFunction(() => window.corsTest !== undefined, null, { timeout: 10_000 })
      .catch((err: unknown) => {
        throw new Error(`the app page did not load: ${errors.join('; ') || String(err)}`)
      })
    return tab
  }

  test('a page on an allowed origin renews its tokens, reads /v1/me and connects its socket', async () => {
    const session = await node.session('alice')
    const tab = await open(allowed.url)
    const calls = node.tokenCalls()
    const outcome = await tab.evaluate(([a, s]) => window.corsTest.renew(a, s), [
      node.url,
      due(session),
    ] as const)
    assert.deepEqual(outcome, { renewed: true, me: { status: 200, sub: 'alice' }, connected: true })
    assert.equal(node.tokenCalls(), calls + 1, 'one refresh, across origins')
    await tab.close()
  })

  test('a page on an origin outside the allow-list gets nothing from the node', async () => {
    const session = await node.session('alice')
    const tab = await open(foreign.url)
    const calls = node.tokenCalls()
    const outcome = await tab.evaluate(([a, s]) => window.corsTest.renew(a, s), [
      node.url,
      due(session),
    ] as const)
    // The renewal's preflight is refused: the SDK cannot reach the token endpoint at all.
    assert.deepEqual(outcome, { error: 'internal' })
    assert.equal(node.tokenCalls(), calls, 'the refresh itself was never sent')
    const me = await tab.evaluate(
      ([url, token]) => window.corsTest.raw(url, { headers: { authorization: `Bearer ${token}` } }),
      [`${node.url}/v1/me`, session.access_token] as const,
    )
    assert.deepEqual(me, { error: 'TypeError' })
    // A form POST needs no preflight, so the browser sends it: the node refuses it unspent.
    const form = await tab.evaluate(
      ([url, token]) =>
        window.corsTest.raw(url, {
          method: 'POST',
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
        }),
      [`${node.url}/v1/token`, session.refresh_token] as const,
    )
    assert.deepEqual(form, { error: 'TypeError' })
    const still = await node.api('/v1/token', {
      method: 'POST',
      auth: null,
      json: { grant_type: 'refresh_token', refresh_token: session.refresh_token },
    })
    assert.equal(still.status, 200, 'the refresh token was not spent by the foreign page')
    await tab.close()
  })
})
