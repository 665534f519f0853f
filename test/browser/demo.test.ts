import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { after, before, describe, test } from 'node:test'
import { chromium, type Browser, type Page } from 'playwright-core'
import { ROOT, sharedNodeEnv, startProcess, type NodeProcess } from '../helpers/process.js'
import { CHROMIUM, CHROMIUM_ARGS, buildBundle, chromiumMissing } from './helpers.js'
import { dropPrefix } from '../../server/test/helpers/redis.js'

const DEMO = `${ROOT}demo/src/main.ts`
const ARTIFACTS = `${ROOT}test/artifacts/`
const skip = chromiumMissing()
if (!skip) buildBundle()

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
}

/** The user signs in as Alice, types a live edit, and starts a long export. */
async function startWorkflow(user: Page, url: string): Promise<void> {
  await user.goto(`${url}/`)
  await user.click('[data-testid=signin-alice]')
  await user.waitForSelector('[data-testid=capabilities] .chip')
  assert.equal(await user.isDisabled('[data-testid=editor]'), false)
  await user.fill('[data-testid=editor]', 'Launch plan, edited live by Alice')
  await user.waitForFunction(() =>
    document.querySelector('[data-testid=status]')?.textContent?.includes('delivered'),
  )
  await user.click('[data-testid=export]')
  await user.waitForFunction(
    () =>
      Number(
        document.querySelector('[data-testid=export-progress]')?.getAttribute('data-progress') ?? 0,
      ) > 0,
  )
}

async function signInAdmin(admin: Page, url: string): Promise<void> {
  await admin.goto(`${url}/admin`)
  await admin.click('[data-testid=admin-signin]')
  await admin.waitForSelector('[data-testid=step-down-alice]')
}

/** The whole story: step-down narrows the live page, revocation tears it down mid-export. */
async function stepDownThenRevoke(user: Page, admin: Page, shots: string): Promise<void> {
  await admin.click('[data-testid=step-down-alice]')
  await user.waitForFunction(() =>
    document.querySelector('[data-testid=banner]')?.classList.contains('warn'),
  )
  assert.equal(await user.isDisabled('[data-testid=editor]'), true)
  assert.equal(await user.isDisabled('[data-testid=save]'), true)
  assert.match((await user.textContent('[data-testid=banner]')) ?? '', /doc:write on doc\/\*/)
  assert.match((await user.textContent('[data-testid=banner]')) ?? '', /policy v\d+/)
  // The export is a read: a step-down to viewer leaves it running.
  assert.equal(await user.getAttribute('[data-testid=export-progress]', 'data-aborted'), null)
  await user.screenshot({ path: `${ARTIFACTS}${shots}-user-step-down.png` })
  await admin.waitForFunction(() =>
    document.querySelector('[data-testid=audit]')?.textContent?.includes('subject.roles'),
  )
  await admin.screenshot({ path: `${ARTIFACTS}${shots}-admin-live.png` })

  await admin.click('[data-testid=revoke-subject-alice]')
  await user.waitForFunction(() => document.body.dataset['revoked'] === 'true')
  await user.waitForFunction(
    () =>
      document.querySelector('[data-testid=export-progress]')?.getAttribute('data-aborted') ===
      'true',
  )
  const progress = Number(await user.getAttribute('[data-testid=export-progress]', 'data-progress'))
  assert.ok(progress > 0 && progress < 1, `the export stopped mid-stream (at ${progress})`)
  assert.equal(await user.isDisabled('[data-testid=editor]'), true)
  assert.equal(await user.isDisabled('[data-testid=export]'), true)
  const banner = (await user.textContent('[data-testid=banner]')) ?? ''
  assert.match(banner, /Access revoked/)
  assert.match(banner, /revoked by admin/)
  const latency = /(\d+) ms from policy write to teardown/.exec(banner)
  assert.ok(latency, `a latency figure in: ${banner}`)
  assert.equal(await user.evaluate(() => localStorage.getItem('vigil-demo:session')), null)
  await admin.waitForFunction(() => !document.querySelector('[data-testid=step-down-alice]'))
  await user.screenshot({ path: `${ARTIFACTS}${shots}-user-revoked.png` })
  await admin.screenshot({ path: `${ARTIFACTS}${shots}-admin.png` })
}

describe('the live revocation demo in Chromium', { skip }, () => {
  let node: NodeProcess
  let browser: Browser
  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    node = await startProcess(DEMO, { VIGIL_API_KEY: `demo-${randomBytes(16).toString('hex')}` })
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
    await node?.stop()
  })

  test('an admin steps a user down, then revokes her mid-export; a second tab tears down too', async () => {
    const userContext = await browser.newContext({ viewport: { width: 1280, height: 820 } })
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 } })
    const user = await userContext.newPage()
    await startWorkflow(user, node.url)
    // A second tab of the same session resumes it from storage.
    const tab2 = await userContext.newPage()
    await tab2.goto(`${node.url}/`)
    await tab2.waitForSelector('[data-testid=capabilities] .chip')
    const admin = await adminContext.newPage()
    await signInAdmin(admin, node.url)

    await stepDownThenRevoke(user, admin, 'single-node')
    await tab2.waitForFunction(() => document.body.dataset['revoked'] === 'true')
    assert.equal(await tab2.isDisabled('[data-testid=editor]'), true)
    await userContext.close()
    await adminContext.close()
  })
})

describe('the demo on two nodes sharing one Redis', { skip }, () => {
  const shared = sharedNodeEnv('demo')
  let a: NodeProcess
  let b: NodeProcess
  let browser: Browser
  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true })
    const env = { ...shared.env, VIGIL_ALLOWED_ORIGINS: '*' }
    ;[a, b] = await Promise.all([startProcess(DEMO, env), startProcess(DEMO, env)])
    browser = await launch()
  })
  after(async () => {
    await browser?.close()
    await Promise.all([a?.stop(), b?.stop()])
    await dropPrefix(shared.prefix)
  })

  test('the user works on node B while the admin acts on node A', async () => {
    const user = await (
      await browser.newContext({ viewport: { width: 1280, height: 820 } })
    ).newPage()
    const admin = await (
      await browser.newContext({ viewport: { width: 1280, height: 900 } })
    ).newPage()
    await startWorkflow(user, b.url)
    await signInAdmin(admin, a.url)
    await stepDownThenRevoke(user, admin, 'two-node')
  })
})
