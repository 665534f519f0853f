import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { createLogger, loadConfig } from '@vigil-enforcer/server'
import { startDemo, type Demo } from '../src/app.js'

const API_KEY = 'demo-test-api-key-0123456789abcdef'

/** An open audit tail: its lines as they arrive, and the end of the stream. */
interface Tail {
  lines: Record<string, unknown>[]
  /** Resolves with the last line once the server ends the stream. */
  ended: Promise<Record<string, unknown> | undefined>
  /** Resolves once a line matching `match` has arrived. */
  until(match: (line: Record<string, unknown>) => boolean): Promise<void>
  close(): void
}

describe('the live audit tail of the admin console', () => {
  let demo: Demo

  before(async () => {
    const parsed = loadConfig({ PORT: '0', VIGIL_API_KEY: API_KEY, LOG_LEVEL: 'silent' })
    assert.ok(parsed.ok)
    demo = await startDemo(parsed.config, createLogger({ level: 'silent', nodeId: 'audit' }))
  })
  after(() => demo.close())

  const api = (path: string, method: string, json: unknown) =>
    fetch(`${demo.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify(json),
    })

  async function adminToken(sub: string, expiresInS = 300): Promise<string> {
    await api(`/v1/subjects/${sub}/roles`, 'PUT', { roles: ['admin'] })
    const ring = demo.enforcer.keyRing
    const signer = await ring.signingKey()
    const iat = Math.floor(Date.now() / 1000)
    const { issuer, audience } = demo.enforcer.config
    return new SignJWT({ iss: issuer, aud: audience, sub, sid: `s-${sub}`, jti: `j-${sub}`, iat })
      .setExpirationTime(iat + expiresInS)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
      .sign(signer.key)
  }

  async function openTail(token: string): Promise<Tail> {
    const controller = new AbortController()
    const res = await fetch(`${demo.url}/demo/audit`, {
      headers: { authorization: `Bearer ${token}` },
      signal: controller.signal,
    })
    assert.equal(res.status, 200)
    const lines: Record<string, unknown>[] = []
    const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: () => void }[] = []
    const ended = (async () => {
      const decoder = new TextDecoder()
      let buffered = ''
      try {
        const reader = res.body!.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buffered += decoder.decode(value, { stream: true })
          let nl: number
          while ((nl = buffered.indexOf('\n')) >= 0) {
            const line = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>
            buffered = buffered.slice(nl + 1)
            lines.push(line)
            for (const w of waiters.filter((w) => w.match(line))) {
              waiters.splice(waiters.indexOf(w), 1)
              w.resolve()
            }
          }
        }
      } catch (err) {
        if (!controller.signal.aborted) throw err
      }
      return lines.at(-1)
    })()
    return {
      lines,
      ended,
      until: (match) =>
        lines.some(match)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiters.push({ match, resolve })),
      close: () => controller.abort(),
    }
  }

  it('streams audit records to an admin', async () => {
    const tail = await openTail(await adminToken('dana'))
    const seen = tail.until((l) => l['sub'] === 'bob' && l['action'] === 'doc:read')
    await demo.enforcer.authorizer.authorize({ sub: 'bob', claims: {} }, 'doc:read', 'doc/1', {
      transport: 'api',
    })
    await seen
    tail.close()
  })

  /** Resolves once this node has applied the policy up to `version`. */
  function applied(version: number): Promise<void> {
    if (demo.enforcer.live.current().version >= version) return Promise.resolve()
    return new Promise((resolve) => {
      const check = (): void => {
        if (demo.enforcer.live.current().version < version) return
        demo.enforcer.live.off('update', check)
        resolve()
      }
      demo.enforcer.live.on('update', check)
    })
  }

  /**
   * After the change has reached this node, another user's request is audited: a tail still open
   * streams its line (`leaked`); a tail decided again has ended with a refusal first.
   */
  async function outcome(tail: Tail, changed: Promise<void>): Promise<unknown> {
    const leaked = tail.until((l) => l['sub'] === 'bob' && l['resource'] === 'doc/after')
    await changed
    void demo.enforcer.authorizer.authorize({ sub: 'bob', claims: {} }, 'doc:read', 'doc/after', {
      transport: 'api',
    })
    const first = await Promise.race([tail.ended.then((l) => l), leaked.then(() => 'leaked')])
    tail.close()
    return first === 'leaked' ? first : (first as { error?: { code?: string } })?.error?.code
  }

  it('an admin revoked while the tail is open gets a revoked line and the stream ends', async () => {
    const tail = await openTail(await adminToken('erin'))
    const res = await api('/v1/revocations', 'POST', { subject: 'erin', reason: 'offboarded' })
    assert.equal(res.status, 201)
    const { version } = (await res.json()) as { version: number }
    assert.equal(await outcome(tail, applied(version)), 'revoked')
  })

  it('an admin stepped down to viewer while the tail is open gets forbidden and the stream ends', async () => {
    const tail = await openTail(await adminToken('fred'))
    const res = await api('/v1/subjects/fred/roles', 'PUT', { roles: ['viewer'] })
    assert.equal(res.status, 200)
    const { version } = (await res.json()) as { version: number }
    assert.equal(await outcome(tail, applied(version)), 'forbidden')
  })

  it("the stream ends with token_expired when the admin's token expires", async () => {
    const tail = await openTail(await adminToken('gail', 2))
    // The scenario is the clock itself: past the token's expiry, nothing else has to happen.
    const expired = new Promise<void>((resolve) => setTimeout(resolve, 3500))
    assert.equal(await outcome(tail, expired), 'token_expired')
  })
})
