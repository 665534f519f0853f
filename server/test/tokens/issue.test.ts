import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { RESERVED_CLAIMS, checkCustomClaims, createTokenIssuer } from '../../src/tokens/issue.js'
import { ACCESS_TTL_S, AUDIENCE, ISSUER, createRig, decodePart } from './helpers.js'

describe('access-token issue', () => {
  it('an access token has the RFC 9068 header and claims', async () => {
    const rig = await createRig()
    const issued = await rig.issuer.issueAccessToken({
      sub: 'alice',
      sid: 's1',
      claims: { tenant: 'acme' },
    })
    const header = decodePart(issued.token, 0)
    assert.deepEqual(header, { alg: 'EdDSA', kid: issued.kid, typ: 'at+jwt' })
    const payload = decodePart(issued.token, 1)
    assert.deepEqual(payload, {
      tenant: 'acme',
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'alice',
      sid: 's1',
      jti: issued.jti,
      iat: rig.clock.seconds(),
      exp: rig.clock.seconds() + ACCESS_TTL_S,
    })
  })

  it('every token gets a distinct jti', async () => {
    const rig = await createRig()
    const jtis = new Set<string>()
    for (let i = 0; i < 20; i++) {
      jtis.add((await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })).jti)
    }
    assert.equal(jtis.size, 20)
  })

  it('custom claims may not set a reserved claim', async () => {
    const rig = await createRig()
    for (const claim of ['sub', 'exp', 'iss', 'cnf', 'nbf']) {
      assert.ok(RESERVED_CLAIMS.includes(claim))
      const check = checkCustomClaims({ [claim]: 'x' })
      assert.deepEqual(check.ok ? null : check.path, claim)
      await assert.rejects(
        rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1', claims: { [claim]: 'x' } }),
        TypeError,
      )
    }
  })

  it('custom claims are checked for shape and size', () => {
    assert.deepEqual(checkCustomClaims(undefined), { ok: true })
    assert.deepEqual(checkCustomClaims({ tenant: 'acme', groups: ['a', 'b'], n: 1 }), { ok: true })
    assert.deepEqual(checkCustomClaims({ 'https://example.com/roles': ['x'] }), { ok: true })
    const cases: [unknown, string][] = [
      [['a'], '(root)'],
      [null, '(root)'],
      [{ when: new Date() }, 'when'],
      [{ nested: { f: () => 1 } }, 'nested.f'],
      [{ list: [1, Number.NaN] }, 'list.1'],
      [{ 'has space': 1 }, 'has space'],
      [{ blob: 'x'.repeat(4100) }, '(root)'],
    ]
    for (const [claims, path] of cases) {
      const check = checkCustomClaims(claims)
      assert.equal(check.ok, false, JSON.stringify(path))
      if (!check.ok) assert.equal(check.path, path)
    }
  })

  it('bad issuer options throw TypeError', async () => {
    const rig = await createRig()
    const base = { keyRing: rig.ring, issuer: ISSUER, audience: AUDIENCE, accessTtlS: 300 }
    assert.throws(() => createTokenIssuer({ ...base, accessTtlS: 0 }), TypeError)
    assert.throws(() => createTokenIssuer({ ...base, audience: '' }), TypeError)
    assert.throws(() => createTokenIssuer({ ...base, keyRing: undefined as never }), TypeError)
  })
})
