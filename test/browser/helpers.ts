/**
 * Browser test plumbing: Debian's Chromium driven by playwright-core (never a downloaded browser
 * build), and a test page served by the enforcer node that loads `/sdk/vigil.js` and exposes
 * `window.vigilTest` for `page.evaluate`.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type express from 'express'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import type { TokenPair, VigilClient } from '../../client-sdk/src/index.js'

export const CHROMIUM = '/usr/bin/chromium'

/** Headless, and nothing that reaches outside this machine (its network is closed). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]
const ROOT = new URL('../../', import.meta.url)

/** Builds the bundle the page loads, so the tests never run against a stale one (~100 ms). */
export function buildBundle(): void {
  execFileSync('npm', ['run', 'build', '-w', '@vigil-enforcer/client'], {
    cwd: ROOT,
    stdio: 'pipe',
  })
}

/** Whether the browser tests can run here; CI installs Chromium, so there it must be present. */
export function chromiumMissing(): string | false {
  if (existsSync(CHROMIUM)) return false
  if (process.env['CI'])
    throw new Error(`${CHROMIUM} is missing: .ci/run installs the chromium package`)
  return `${CHROMIUM} is not installed (apt-get install chromium)`
}

export interface Browser {
  /** One context: its pages share storage and BroadcastChannel, like the tabs of one window. */
  context: BrowserContext
  close(): Promise<void>
}

/**
 * Launches headless Chromium with a fresh profile directory.
 *
 * @example
 * ```ts
 * const browser = await launchBrowser()
 * const page = await openSdkPage(browser.context, node.url)
 * ```
 */
export async function launchBrowser(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'vigil-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  return {
    context,
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

/** What the test page exposes. Events are recorded as `{ name, … }` in arrival order. */
export interface VigilTestApi {
  client: VigilClient | null
  events: Array<{ name: string; code?: string; reason?: string; trigger?: string; id?: string }>
  requests: Record<string, { state: string; status?: number; code?: string; chunks?: number }>
  /** Starts a client; without `session` it resumes the one in localStorage. */
  start(
    session: TokenPair | null,
    options?: { socket?: { autoConnect?: boolean }; debug?: boolean },
  ): void
  count(name: string): number
  /** Starts `vigil.fetch` and records how it ends under `requests[id]`. */
  startFetch(id: string, url: string, init?: RequestInit & { permission?: unknown }): void
  /** Same, reading the body as it streams. */
  startStream(id: string, url: string): void
}

declare global {
  interface Window {
    vigilTest: VigilTestApi
  }
}

/** The test page: imports the served bundle, the way an app embeds the SDK. */
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>vigil sdk test</title>
<script type="module">
import { createVigilClient } from '/sdk/vigil.js'
const t = {
  client: null,
  events: [],
  requests: {},
  start(session, { debug, ...options } = {}) {
    const c = createVigilClient({
      url: location.origin,
      storage: window.localStorage,
      ...(session ? { session } : {}),
      ...(debug ? { onDebug: (m, d) => console.log(Date.now() % 100000, m, JSON.stringify(d)) } : {}),
      ...options,
    })
    t.client = c
    const names = ['capabilities', 'step-down', 'step-up', 'revoked', 'expired', 'teardown', 'refresh', 'error']
    for (const name of names) {
      c.on(name, (e) => t.events.push({ name, code: e?.code ?? e?.error?.code, trigger: e?.trigger }))
    }
    c.socket.on('connect', () => t.events.push({ name: 'connect', id: c.socket.id }))
    c.socket.on('disconnect', (reason) => t.events.push({ name: 'disconnect', reason }))
    c.onTeardown((e) => t.events.push({ name: 'hook', reason: e.reason }))
  },
  count(name) {
    return t.events.filter((e) => e.name === name).length
  },
  startFetch(id, url, init) {
    t.requests[id] = { state: 'pending' }
    t.client.fetch(url, init).then(
      (res) => (t.requests[id] = { state: 'done', status: res.status }),
      (err) => (t.requests[id] = { state: 'rejected', code: err.code ?? err.name }),
    )
  },
  async startStream(id, url) {
    t.requests[id] = { state: 'pending', chunks: 0 }
    try {
      const res = await t.client.fetch(url)
      const reader = res.body.getReader()
      for (;;) {
        const { done } = await reader.read()
        if (done) break
        t.requests[id] = { state: 'streaming', chunks: t.requests[id].chunks + 1 }
      }
      t.requests[id] = { state: 'done' }
    } catch (err) {
      t.requests[id] = { state: 'rejected', code: err.code ?? err.name, chunks: t.requests[id].chunks }
    }
  },
}
window.vigilTest = t
</script>`

/** Adds `GET /sdk-test.html` to a test node's app. */
export function testPageRoute(app: express.Express): void {
  app.get('/sdk-test.html', (_req, res) => {
    res.type('html').setHeader('Cache-Control', 'no-store').send(PAGE)
  })
}

/**
 * Opens the test page in a new tab of `context` and waits for the SDK module to load.
 *
 * @example
 * ```ts
 * const page = await openSdkPage(browser.context, node.url)
 * await page.evaluate((s) => window.vigilTest.start(s), session)
 * ```
 */
export async function openSdkPage(context: BrowserContext, baseUrl: string): Promise<Page> {
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`${baseUrl}/sdk-test.html`)
  await page
    .waitForFunction(() => window.vigilTest !== undefined, null, { timeout: 10_000 })
    .catch((err: unknown) => {
      throw new Error(`the SDK page did not load: ${errors.join('; ') || String(err)}`)
    })
  return page
}
