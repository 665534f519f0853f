import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { describe, it } from 'node:test'
import { createMemoryStore } from '../../src/store/memory-store.js'
import { createKeyRing } from '../../src/tokens/key-ring.js'
import {
  ACCESS_TTL_S,
  RELOAD_MS,
  TOLERANCE_S,
  createClock,
  createRig,
  decodePart,
} from './helpers.js'

describe('key rotation', () => {
  it('tokens signed before a rotation still verify and new tokens carry the new kid', async () => {
    const rig = await createRig()
    const before = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    const { kid, retiring } = await rig.ring.rotate()
    assert.equal(retiring, before.kid)
    assert.notEqual(kid, before.kid)

    const after = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.equal(after.kid, kid)
    assert.equal(decodePart(after.token, 0).kid, kid)
    assert.equal((await rig.verifier.verifyUncached(before.token)).ok, true)
    assert.equal((await rig.verifier.verifyUncached(after.token)).ok, true)
  })

  it('JWKS holds both keys until the retiring one retires, then only the new one', async () => {
    const rig = await createRig()
    const old = (await rig.ring.signingKey()).kid
    const { kid } = await rig.ring.rotate()
    const kids = () =>
      rig.ring
        .jwks()
        .keys.map((k) => k.kid)
        .sort()
    assert.deepEqual(kids(), [old, kid].sort())

    rig.clock.advance((ACCESS_TTL_S + TOLERANCE_S) * 1000 - 1)
    assert.deepEqual(kids(), [old, kid].sort(), 'the retiring key outlives its longest token')
    rig.clock.advance(1)
    assert.deepEqual(kids(), [kid])
  })

  it('no private key material appears in JWKS, errors or serialised ring objects', async () => {
    const rig = await createRig()
    await rig.ring.rotate()
    const rig2 = await createRig({ alg: 'ES256' })
    for (const ring of [rig.ring, rig2.ring]) {
      const jwks = ring.jwks()
      for (const key of jwks.keys) {
        assert.equal('d' in key, false)
        assert.equal(key.use, 'sig')
        assert.ok(typeof key.kid === 'string' && typeof key.alg === 'string')
      }
      const signer = await ring.signingKey()
      assert.equal(signer.key.extractable, false, 'the loaded private key cannot be exported')
      for (const text of [JSON.stringify(jwks), JSON.stringify(signer), inspect(ring)]) {
        assert.doesNotMatch(text, /"d"/)
      }
    }
  })

  it('the first node to start creates the key and a second one adopts it', async () => {
    const clock = createClock()
    const store = createMemoryStore({ now: clock.now })
    const options = { store, maxTokenLifetimeS: ACCESS_TTL_S, now: clock.now }
    const a = createKeyRing(options)
    const b = createKeyRing(options)
    await Promise.all([a.init(), b.init()])
    assert.equal((await store.listKeys()).length, 1, 'the losing node discarded its key')
    assert.equal((await a.signingKey()).kid, (await b.signingKey()).kid)
  })

  it('a node reloading after another rotated signs with the new key', async () => {
    const clock = createClock()
    const store = createMemoryStore({ now: clock.now })
    const a = await createRig({ clock, store })
    const b = await createRig({ clock, store })
    const { kid } = await a.ring.rotate()
    await b.ring.reload()
    assert.equal((await b.ring.signingKey()).kid, kid)
    assert.equal(b.ring.jwks().keys.length, 2)
  })

  it('a node that missed the rotation notice picks up the new signer within the reload interval', async () => {
    const clock = createClock()
    const store = createMemoryStore({ now: clock.now })
    const a = await createRig({ clock, store })
    const b = await createRig({ clock, store })
    const { kid, retiring } = await a.ring.rotate()
    assert.equal((await b.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })).kid, retiring)
    clock.advance(RELOAD_MS)
    assert.equal((await b.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })).kid, kid)
  })

  it('rotation prunes keys whose retirement has passed from the store', async () => {
    const rig = await createRig()
    await rig.ring.rotate()
    rig.clock.advance((ACCESS_TTL_S + TOLERANCE_S) * 1000)
    await rig.ring.rotate()
    assert.equal((await rig.store.listKeys()).length, 2)
  })

  it('bad key ring options throw TypeError', () => {
    const store = createMemoryStore()
    assert.throws(() => createKeyRing({ store, maxTokenLifetimeS: 0 }), TypeError)
    assert.throws(
      () => createKeyRing({ store, maxTokenLifetimeS: 60, alg: 'HS256' as never }),
      TypeError,
    )
    assert.throws(
      () => createKeyRing({ store: undefined as never, maxTokenLifetimeS: 60 }),
      TypeError,
    )
  })
})
