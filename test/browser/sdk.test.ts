import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, get } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import express from 'express'
import { startSdkNode, until, type SdkNode } from '../../client-sdk/test/helpers.js'
import { sdkRoutes } from '../../server/src/http/sdk-route.js'
import {
  buildBundle,
  chromiumMissing,
  launchBrowser,
  openSdkPage,
  testPageRoute,
  type Browser,
} from './helpers.js'

const skip = chromiumMissing()
if (!skip) buildBundle()

describe('GET /sdk/vigil.js', { skip }, () => {
  let node: SdkNode
  before(async () => {
    node = await startSdkNode()
  })
  after(() => node.close())

  test('serves the ESM bundle with revalidation headers and answers 304 to its ETag', async () => {
    const res = await fetch(`${node.url}/sdk/vigil.js`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/javascript; charset=utf-8')
    assert.equal(res.headers.get('cache-control'), 'no-cache')
    const etag = res.headers.get('etag')
    assert.match(etag ?? '', /^"[\w-]+"$/)
    assert.match(await res.text(), /export\s*\{[^}]*createVigilClient/)
    // node:http, not fetch: fetch adds `Cache-Control: no-cache` to a conditional request, which
    // rules out a 304; a browser revalidating its cached copy does not.
    const again = await new Promise<number | undefined>((resolve, reject) => {
      get(`${node.url}/sdk/vigil.js`, { headers: { 'if-none-match': etag! } }, (r) => {
        r.resume()
        resolve(r.statusCode)
      }).on('error', reject)
    })
    assert.equal(again, 304)
  })

  test('answers 503 with a coded error and the build command when the bundle is missing', async () => {
    const app = express()
    app.use(sdkRoutes({ bundlePath: '/nonexistent/vigil.js' }))
    const server = createServer(app).listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const port = (server.address() as AddressInfo).port
      const res = await fetch(`http://127.0.0.1:${port}/sdk/vigil.js`)
      assert.equal(res.status, 503)
      const body = (await res.json()) as { error: { code: string; message: string } }
      assert.equal(body.error.code, 'internal')
      assert.match(body.error.message, /npm run build -w @vigil-enforcer\/client/)
    } finally {
      server.close()
    }
  })
})

describe('the SDK in Chromium', { skip }, () => {
  let node: SdkNode
  let browser: Browser
  before(async () => {
    node = await startSdkNode({ extraRoutes: testPageRoute })
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await node?.close()
  })

  test('a page loads /sdk/vigil.js and connects with a session minted through the API', async () => {
    const session = await node.session('alice')
    const page = await openSdkPage(browser.context, node.url)
    await page.evaluate((s) => window.vigilTest.start(s), session)
    await page.waitForFunction(() => window.vigilTest.count('capabilities') > 0)
    const seen = await page.evaluate(async () => {
      const c = window.vigilTest.client!
      const res = await c.fetch('/api/docs/42', { permission: 'doc:read' })
      return {
        write: c.can('doc:write', 'doc/42'),
        admin: c.can('policy:write', 'policy'),
        body: await res.json(),
        connected: c.socket.connected,
      }
    })
    assert.deepEqual(seen, {
      write: true,
      admin: false,
      body: { id: '42', reader: 'alice' },
      connected: true,
    })
    await page.close()
  })

  test('a revocation aborts in-flight work, fires revoked once, closes the socket, clears the stored tokens and tears down the other tabs', async () => {
    const session = await node.session('alice')
    const tab1 = await openSdkPage(browser.context, node.url)
    await tab1.evaluate((s) => window.vigilTest.start(s), session)
    await tab1.waitForFunction(() => window.vigilTest.count('capabilities') > 0)
    // The other tabs resume the session from localStorage, as a new tab of the app would.
    const tab2 = await openSdkPage(browser.context, node.url)
    await tab2.evaluate(() => window.vigilTest.start(null))
    await tab2.waitForFunction(() => window.vigilTest.count('capabilities') > 0)
    // The third has no socket of its own: only the BroadcastChannel can reach it.
    const tab3 = await openSdkPage(browser.context, node.url)
    await tab3.evaluate(() => window.vigilTest.start(null, { socket: { autoConnect: false } }))
    const tabs = [tab1, tab2, tab3]

    await tab1.evaluate(() => {
      window.vigilTest.startFetch('hold', '/api/hold/1')
      void window.vigilTest.startStream('export', '/api/docs/1/export')
    })
    await until(() => node.holding.get('hold') === 1, 'the held request')
    await tab1.waitForFunction(() => window.vigilTest.requests['export']?.state === 'streaming')

    const res = await node.api('/v1/revocations', {
      method: 'POST',
      json: { session: session.session_id, reason: 'browser test' },
    })
    assert.equal(res.status, 201)

    for (const tab of tabs) {
      await tab.waitForFunction(() => window.vigilTest.client?.state === 'revoked')
    }
    await tab1.waitForFunction(() =>
      ['hold', 'export'].every((id) => window.vigilTest.requests[id]?.state === 'rejected'),
    )
    // The server sees the aborted requests go away.
    await until(() => !node.holding.get('hold') && !node.holding.get('export'), 'server closes')

    const first = await tab1.evaluate(() => ({
      hold: window.vigilTest.requests['hold']!.code,
      export: window.vigilTest.requests['export']!.code,
      connected: window.vigilTest.client!.socket.connected,
      active: window.vigilTest.client!.socket.active,
      stored: window.localStorage.getItem('vigil:session'),
      can: window.vigilTest.client!.can('doc:read', 'doc/1'),
    }))
    assert.deepEqual(first, {
      hold: 'revoked',
      export: 'revoked',
      connected: false,
      active: false,
      stored: null,
      can: false,
    })
    for (const tab of tabs) {
      const counts = await tab.evaluate(() => ({
        revoked: window.vigilTest.count('revoked'),
        hooks: window.vigilTest.count('hook'),
        teardown: window.vigilTest.count('teardown'),
        connected: window.vigilTest.client!.socket.connected,
      }))
      assert.deepEqual(counts, { revoked: 1, hooks: 1, teardown: 1, connected: false })
    }
    const later = await tab1.evaluate(() =>
      window.vigilTest.client!.fetch('/api/docs/1').then(
        () => 'resolved',
        (err: { code?: string }) => err.code,
      ),
    )
    assert.equal(later, 'revoked')
    for (const tab of tabs) await tab.close()
  })

  test("a step-down turns can('doc:write', …) false and aborts a request made with permission doc:write", async () => {
    await node.api('/v1/subjects/erin/roles', { method: 'PUT', json: { roles: ['editor'] } })
    const session = await node.session('erin')
    const page = await openSdkPage(browser.context, node.url)
    await page.evaluate((s) => window.vigilTest.start(s), session)
    await page.waitForFunction(() => window.vigilTest.client?.can('doc:write', 'doc/9') === true)
    await page.evaluate(() => {
      window.vigilTest.startFetch('save', '/api/docs/9?hold', {
        method: 'PUT',
        permission: 'doc:write',
      })
      window.vigilTest.startFetch('read', '/api/docs/9', { permission: 'doc:read' })
    })
    await until(() => node.holding.get('put-hold') === 1, 'the held save')

    await node.api('/v1/subjects/erin/roles', { method: 'PUT', json: { roles: ['viewer'] } })

    await page.waitForFunction(() => window.vigilTest.requests['save']?.state === 'rejected')
    const seen = await page.evaluate(() => ({
      save: window.vigilTest.requests['save']!.code,
      read: window.vigilTest.requests['read']!.status,
      write: window.vigilTest.client!.can('doc:write', 'doc/9'),
      readable: window.vigilTest.client!.can('doc:read', 'doc/9'),
      stepDowns: window.vigilTest.count('step-down'),
      state: window.vigilTest.client!.state,
    }))
    assert.deepEqual(seen, {
      save: 'forbidden',
      read: 200,
      write: false,
      readable: true,
      stepDowns: 1,
      state: 'active',
    })
    await page.close()
  })
})

describe('the SDK in Chromium with 5-second tokens', { skip }, () => {
  let node: SdkNode
  let browser: Browser
  before(async () => {
    node = await startSdkNode({
      env: { VIGIL_ACCESS_TTL: '5' },
      expiringLeadS: 2,
      expiryGraceS: 1,
      extraRoutes: testPageRoute,
    })
    browser = await launchBrowser()
  })
  after(async () => {
    await browser?.close()
    await node?.close()
  })

  test('the socket stays connected across three token lifetimes without reconnecting, in both tabs of the session', async () => {
    const session = await node.session('alice')
    const page = await openSdkPage(browser.context, node.url)
    await page.evaluate((s) => window.vigilTest.start(s), session)
    // A second tab of the session: the tabs must take turns renewing (Web Locks), since a
    // refresh token spent twice revokes the whole session.
    const other = await openSdkPage(browser.context, node.url)
    await other.evaluate(() => window.vigilTest.start(null))
    const tabs = [page, other]
    for (const tab of tabs) await tab.waitForFunction(() => window.vigilTest.count('connect') === 1)
    const started = Date.now()
    const calls = node.tokenCalls()
    const ids = await Promise.all(
      tabs.map((tab) => tab.evaluate(() => window.vigilTest.client!.socket.id)),
    )

    // Three lifetimes and a bit: long enough for the server to have cut any unrenewed socket.
    await page.waitForFunction(
      (since) => Date.now() - since > 16_000 && window.vigilTest.count('refresh') >= 3,
      started,
      { timeout: 30_000, polling: 250 },
    )

    for (const [i, tab] of tabs.entries()) {
      const seen = await tab.evaluate(async () => ({
        id: window.vigilTest.client!.socket.id,
        connected: window.vigilTest.client!.socket.connected,
        state: window.vigilTest.client!.state,
        connects: window.vigilTest.count('connect'),
        disconnects: window.vigilTest.count('disconnect'),
        renewed: window.vigilTest.count('refresh') >= 3,
        errors: window.vigilTest.events.filter((e) => e.name === 'error').map((e) => e.code),
        ack: await window.vigilTest.client!.emit('doc:edit', { docId: '1', text: 'still live' }),
      }))
      assert.deepEqual(seen, {
        id: ids[i],
        connected: true,
        state: 'active',
        connects: 1,
        disconnects: 0,
        renewed: true,
        errors: [],
        ack: { ok: true, data: { docId: '1', length: 10 } },
      })
    }
    assert.ok(node.tokenCalls() - calls >= 3, `only ${node.tokenCalls() - calls} renewals`)
    for (const tab of tabs) await tab.close()
  })
})
