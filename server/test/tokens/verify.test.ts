import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { createKeyRing } from '../../src/tokens/key-ring.js'
import { createVerifier } from '../../src/tokens/verify.js'
import {
  ACCESS_TTL_S,
  AUDIENCE,
  ISSUER,
  RELOAD_MS,
  TOLERANCE_S,
  countingStore,
  createClock,
  createRig,
  decodePart,
  signWithRing,
  validClaims,
} from './helpers.js'

describe('access-token verification', () => {
  it('a valid token verifies to its principal, and again from the cache as the same object', async () => {
    const rig = await createRig()
    const issued = await rig.issuer.issueAccessToken({
      sub: 'alice',
      sid: 'session-1',
      claims: { tenant: 'acme', groups: ['contractors'] },
    })
    const first = await rig.verifier.verify(issued.token)
    assert.ok(first.ok)
    assert.equal(first.cached, false)
    assert.equal(first.exp, issued.exp)
    const { principal } = first
    assert.equal(principal.sub, 'alice')
    assert.equal(principal.sid, 'session-1')
    assert.equal(principal.jti, issued.jti)
    assert.equal(principal.iat, issued.iat)
    assert.equal(principal.exp, issued.exp)
    assert.equal(principal.claims.tenant, 'acme')
    assert.deepEqual(principal.claims.groups, ['contractors'])
    assert.equal(principal.claims.iss, ISSUER)
    assert.ok(Object.isFrozen(principal) && Object.isFrozen(principal.claims))

    const second = await rig.verifier.verify(issued.token)
    assert.ok(second.ok)
    assert.equal(second.cached, true)
    assert.equal(second.principal, principal)
  })

  it('concurrent first verifications of one token return the same principal object', async () => {
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    const [a, b] = await Promise.all([rig.verifier.verify(token), rig.verifier.verify(token)])
    assert.ok(a.ok && b.ok)
    assert.equal(a.principal, b.principal)
  })

  it('a cached token reports expired once the clock passes its exp', async () => {
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.equal((await rig.verifier.verify(token)).ok, true)
    rig.clock.advance((ACCESS_TTL_S + TOLERANCE_S - 1) * 1000)
    const late = await rig.verifier.verify(token)
    assert.ok(late.ok && late.cached, 'still valid within the clock tolerance')
    rig.clock.advance(1000)
    const expired = await rig.verifier.verify(token)
    assert.deepEqual(expired, { ok: false, code: 'token_expired', detail: 'expired' })
  })

  it('refusals are never cached', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { aud: 'other-app' }))
    for (let i = 0; i < 2; i++) {
      const r = await rig.verifier.verify(token)
      assert.deepEqual(r, { ok: false, code: 'token_invalid', detail: 'audience_invalid' })
    }
  })

  it('verifyUncached verifies fully every time and does not fill the cache', async () => {
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    const a = await rig.verifier.verifyUncached(token)
    const b = await rig.verifier.verifyUncached(token)
    assert.ok(a.ok && b.ok && !a.cached && !b.cached)
    assert.notEqual(a.principal, b.principal)
    const c = await rig.verifier.verify(token)
    assert.ok(c.ok && !c.cached)
  })

  it('an ES256 key ring issues and verifies tokens', async () => {
    const rig = await createRig({ alg: 'ES256' })
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.equal(decodePart(token, 0).alg, 'ES256')
    const result = await rig.verifier.verify(token)
    assert.ok(result.ok)
    assert.equal(result.principal.sub, 'alice')
    const [jwk] = rig.ring.jwks().keys
    assert.deepEqual(Object.keys(jwk!).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'])
  })

  it('a verifier restricted to EdDSA refuses ES256 tokens as alg_not_allowed', async () => {
    const rig = await createRig({ alg: 'ES256', verifier: { algorithms: ['EdDSA'] } })
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    const r = await rig.verifier.verify(token)
    assert.deepEqual(r, { ok: false, code: 'token_invalid', detail: 'alg_not_allowed' })
  })

  it('a second node sharing the store verifies tokens signed after a rotation by the first', async () => {
    const clock = createClock()
    const store = createMemoryStore({ now: clock.now })
    const a = await createRig({ clock, store })
    const b = await createRig({ clock, store })
    assert.equal((await a.ring.signingKey()).kid, (await b.ring.signingKey()).kid, 'one signer')

    clock.advance(RELOAD_MS)
    const { kid } = await a.ring.rotate()
    const issued = await a.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.equal(issued.kid, kid)
    const result = await b.verifier.verify(issued.token)
    assert.ok(result.ok, 'the unknown kid made node b reload its ring')
    assert.equal((await b.ring.signingKey()).kid, kid, 'node b now signs with the new key too')
  })

  it('reloads for unknown kids are throttled to one per interval', async () => {
    const clock = createClock()
    const counted = countingStore(createMemoryStore({ now: clock.now }))
    const ring = createKeyRing({
      store: counted.store,
      maxTokenLifetimeS: ACCESS_TTL_S,
      reloadIntervalMs: RELOAD_MS,
      now: clock.now,
    })
    await ring.init()
    const loads = () => counted.calls.get('listKeys') ?? 0
    const atStart = loads()

    assert.deepEqual(await ring.verificationKey('unknown-1'), { missing: 'kid_unknown' })
    assert.equal(loads(), atStart, 'no reload right after init')

    clock.advance(RELOAD_MS)
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => ring.verificationKey(`unknown-${i}`)),
    )
    assert.ok(burst.every((r) => 'missing' in r && r.missing === 'kid_unknown'))
    assert.equal(loads(), atStart + 1, 'one reload for the whole burst')
    await ring.verificationKey('unknown-x')
    assert.equal(loads(), atStart + 1)

    clock.advance(RELOAD_MS)
    await ring.verificationKey('unknown-y')
    assert.equal(loads(), atStart + 2, 'one more once the interval has passed')
  })

  it('verification never throws, even when the key ring cannot reach its store', async () => {
    const clock = createClock()
    const store = createMemoryStore({ now: clock.now })
    const rig = await createRig({ clock, store })
    const token = await signWithRing(rig.ring, validClaims(clock), { kid: 'unknown' })
    store.listKeys = () => Promise.reject(new Error('store down'))
    clock.advance(RELOAD_MS)
    const r = await rig.verifier.verify(token)
    assert.deepEqual(r, { ok: false, code: 'token_invalid', detail: 'kid_unknown' })
  })

  it('bad verifier options throw TypeError', async () => {
    const rig = await createRig()
    const base = { keyRing: rig.ring, issuer: ISSUER, audience: AUDIENCE }
    assert.throws(() => createVerifier({ ...base, clockToleranceS: 301 }), TypeError)
    assert.throws(() => createVerifier({ ...base, issuer: '' }), TypeError)
    assert.throws(() => createVerifier({ ...base, cacheSize: 0 }), TypeError)
    assert.throws(() => createVerifier({ ...base, algorithms: ['RS256'] as never }), TypeError)
  })
})
