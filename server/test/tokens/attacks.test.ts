import assert from 'node:assert/strict'
import { createHmac, createPublicKey } from 'node:crypto'
import { describe, it } from 'node:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWK } from 'jose'
import { createVerifier } from '../../src/tokens/verify.js'
import type { VerifyResult } from '../../src/tokens/verify.js'
import {
  ACCESS_TTL_S,
  AUDIENCE,
  ISSUER,
  TOLERANCE_S,
  b64,
  createRig,
  signWithRing,
  validClaims,
} from './helpers.js'

function assertRefused(result: VerifyResult, code: string, detail: string): void {
  assert.equal(result.ok, false, 'the token must be refused')
  if (!result.ok) assert.deepEqual({ code: result.code, detail: result.detail }, { code, detail })
}

/** An HS256 token keyed with `secret`, as a confused verifier would accept it. */
function hs256(header: Record<string, unknown>, payload: unknown, secret: string | Buffer): string {
  const input = `${b64({ ...header, alg: 'HS256' })}.${b64(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

async function serverPublicJwk(rig: Awaited<ReturnType<typeof createRig>>): Promise<JWK> {
  const { kid } = await rig.ring.signingKey()
  const jwk = rig.ring.jwks().keys.find((k) => k.kid === kid)
  assert.ok(jwk, 'the signer is published')
  return jwk
}

describe('token attacks', () => {
  it('a token with alg none is refused as alg_not_allowed', async () => {
    const rig = await createRig()
    const { kid } = await rig.ring.signingKey()
    const token = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(validClaims(rig.clock))}.`
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'alg_not_allowed')
    const upper = `${b64({ alg: 'NONE', typ: 'at+jwt', kid })}.${b64(validClaims(rig.clock))}.`
    assertRefused(await rig.verifier.verify(upper), 'token_invalid', 'alg_not_allowed')
  })

  it('an HS256 token keyed with the raw public key bytes of the server is refused', async () => {
    const rig = await createRig()
    const jwk = await serverPublicJwk(rig)
    const header = { typ: 'at+jwt', kid: jwk.kid }
    const claims = validClaims(rig.clock)
    const raw = hs256(header, claims, Buffer.from(jwk.x!, 'base64url'))
    assertRefused(await rig.verifier.verify(raw), 'token_invalid', 'alg_not_allowed')
    const text = hs256(header, claims, jwk.x!)
    assertRefused(await rig.verifier.verify(text), 'token_invalid', 'alg_not_allowed')
  })

  it('an HS256 token keyed with the PEM/SPKI export of the server public key is refused', async () => {
    const rig = await createRig()
    const jwk = await serverPublicJwk(rig)
    const key = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' })
    const pem = key.export({ type: 'spki', format: 'pem' }) as string
    const der = key.export({ type: 'spki', format: 'der' })
    const header = { typ: 'at+jwt', kid: jwk.kid }
    const claims = validClaims(rig.clock)
    assertRefused(
      await rig.verifier.verify(hs256(header, claims, pem)),
      'token_invalid',
      'alg_not_allowed',
    )
    assertRefused(
      await rig.verifier.verify(hs256(header, claims, der)),
      'token_invalid',
      'alg_not_allowed',
    )
  })

  it('a verifier cannot be configured to accept HMAC or none', async () => {
    const rig = await createRig()
    for (const alg of ['HS256', 'none']) {
      const options = { keyRing: rig.ring, issuer: ISSUER, audience: AUDIENCE, algorithms: [alg] }
      assert.throws(() => createVerifier(options as never), TypeError)
    }
  })

  it('a token naming an unknown kid is refused as kid_unknown', async () => {
    const rig = await createRig()
    const attacker = await generateKeyPair('EdDSA')
    const token = await new SignJWT(validClaims(rig.clock))
      .setProtectedHeader({ alg: 'EdDSA', kid: 'not-a-vigil-kid', typ: 'at+jwt' })
      .sign(attacker.privateKey)
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'kid_unknown')
  })

  it('a token carrying its own key in a jwk header is refused as header_forbidden', async () => {
    const rig = await createRig()
    const attacker = await generateKeyPair('EdDSA')
    const jwk = await exportJWK(attacker.publicKey)
    const token = await new SignJWT(validClaims(rig.clock))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', jwk })
      .sign(attacker.privateKey)
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'header_forbidden')
  })

  for (const name of ['jku', 'x5u', 'x5c', 'crit']) {
    it(`a token with a ${name} header is refused as header_forbidden`, async () => {
      const rig = await createRig()
      const attacker = await generateKeyPair('EdDSA')
      const { kid } = await rig.ring.signingKey()
      const value = name === 'x5c' ? ['MIIB'] : name === 'crit' ? ['exp'] : 'https://evil.test/k'
      const header = { alg: 'EdDSA', typ: 'at+jwt', kid, [name]: value }
      const input = `${b64(header)}.${b64(validClaims(rig.clock))}`
      const sig = Buffer.from(
        await crypto.subtle.sign('Ed25519', attacker.privateKey, Buffer.from(input)),
      ).toString('base64url')
      assertRefused(
        await rig.verifier.verify(`${input}.${sig}`),
        'token_invalid',
        'header_forbidden',
      )
    })
  }

  it('a payload altered after signing is refused as signature_invalid', async () => {
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    const [h, p, s] = token.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const forged = `${h}.${b64({ ...payload, sub: 'admin' })}.${s}`
    assertRefused(await rig.verifier.verify(forged), 'token_invalid', 'signature_invalid')
  })

  it('an altered payload under the signature of a cached token is refused, and the real one stays cached', async () => {
    // The verified-token cache is keyed by the signature segment: a hit must equal the whole token.
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.ok((await rig.verifier.verify(token)).ok)
    const [h, p, s] = token.split('.') as [string, string, string]
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>
    const forged = `${h}.${b64({ ...payload, sub: 'admin' })}.${s}`
    assert.equal(rig.verifier.peek(forged), undefined, 'not a cache hit')
    assertRefused(await rig.verifier.verify(forged), 'token_invalid', 'signature_invalid')
    const again = rig.verifier.peek(token)
    assert.ok(again?.ok && again.cached && again.principal.sub === 'alice')
  })

  it('an expired token is refused as token_expired', async () => {
    const rig = await createRig()
    const { token } = await rig.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    rig.clock.advance((ACCESS_TTL_S + TOLERANCE_S) * 1000)
    assertRefused(await rig.verifier.verify(token), 'token_expired', 'expired')
  })

  it('a token whose nbf is in the future is refused as not_yet_valid', async () => {
    const rig = await createRig()
    const nbf = rig.clock.seconds() + TOLERANCE_S + 60
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { nbf }))
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'not_yet_valid')
  })

  it('a token issued in the future beyond the clock tolerance is refused', async () => {
    const rig = await createRig()
    const iat = rig.clock.seconds() + TOLERANCE_S + 60
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { iat, exp: iat + 300 }))
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'issued_in_future')
  })

  it('a token issued slightly in the future, within tolerance, verifies', async () => {
    const rig = await createRig()
    const iat = rig.clock.seconds() + TOLERANCE_S - 5
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { iat, exp: iat + 300 }))
    assert.equal((await rig.verifier.verify(token)).ok, true)
  })

  it('a token from another issuer, signed by the server key, is refused as issuer_invalid', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { iss: 'https://evil.test' }))
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'issuer_invalid')
  })

  it('a token for another audience is refused as audience_invalid', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { aud: 'other-app' }))
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'audience_invalid')
  })

  for (const claim of ['sub', 'jti', 'exp', 'sid', 'iat']) {
    it(`a token without ${claim} is refused as claim_missing`, async () => {
      const rig = await createRig()
      const claims = validClaims(rig.clock)
      delete claims[claim]
      const token = await signWithRing(rig.ring, claims)
      assertRefused(await rig.verifier.verify(token), 'token_invalid', 'claim_missing')
    })
  }

  it('a token whose sub is not a string is refused as claim_invalid', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { sub: 42 as never }))
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'claim_invalid')
  })

  it('a token typed JWT instead of at+jwt is refused as typ_invalid', async () => {
    const rig = await createRig()
    const typed = await signWithRing(rig.ring, validClaims(rig.clock), { typ: 'JWT' })
    assertRefused(await rig.verifier.verify(typed), 'token_invalid', 'typ_invalid')
    const untyped = await signWithRing(rig.ring, validClaims(rig.clock), { typ: undefined })
    assertRefused(await rig.verifier.verify(untyped), 'token_invalid', 'typ_invalid')
  })

  it('a token typed application/at+jwt in any case verifies', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock), {
      typ: 'Application/AT+JWT',
    })
    assert.equal((await rig.verifier.verify(token)).ok, true)
  })

  it('a token over 8 KB is refused as too_large', async () => {
    const rig = await createRig()
    const token = await signWithRing(rig.ring, validClaims(rig.clock, { pad: 'x'.repeat(8200) }))
    assert.ok(token.length > 8192)
    assertRefused(await rig.verifier.verify(token), 'token_invalid', 'too_large')
  })

  it('non-base64 garbage and non-strings are refused without throwing', async () => {
    const rig = await createRig()
    for (const garbage of ['not a token!!', 'a.b', '%%%.$$$.^^^', '', '....', 'Bearer x.y.z']) {
      assertRefused(await rig.verifier.verify(garbage), 'token_invalid', 'malformed')
    }
    for (const input of [undefined, null, 42, {}, ['a.b.c']]) {
      assertRefused(await rig.verifier.verify(input as never), 'token_invalid', 'too_large')
    }
  })

  it('a token whose header is not JSON is refused as malformed', async () => {
    const rig = await createRig()
    const valid = await signWithRing(rig.ring, validClaims(rig.clock))
    const [, p, s] = valid.split('.') as [string, string, string]
    assertRefused(
      await rig.verifier.verify(`${b64('not json')}.${p}.${s}`),
      'token_invalid',
      'malformed',
    )
    assertRefused(
      await rig.verifier.verify(`${b64([1, 2])}.${p}.${s}`),
      'token_invalid',
      'malformed',
    )
  })

  it('a token whose header alg differs from its key algorithm is refused', async () => {
    const rig = await createRig()
    const valid = await signWithRing(rig.ring, validClaims(rig.clock))
    const [h, p, s] = valid.split('.') as [string, string, string]
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>
    const swapped = `${b64({ ...header, alg: 'ES256' })}.${p}.${s}`
    assertRefused(await rig.verifier.verify(swapped), 'token_invalid', 'alg_not_allowed')
  })

  it('a token signed by a retired key is refused as key_retired', async () => {
    const rig = await createRig()
    // Valid for a day: only the key's retirement can stop it.
    const long = validClaims(rig.clock, { exp: rig.clock.seconds() + 86400 })
    const token = await signWithRing(rig.ring, long)
    await rig.ring.rotate()
    assert.equal((await rig.verifier.verifyUncached(token)).ok, true, 'verifies while retiring')
    rig.clock.advance((ACCESS_TTL_S + TOLERANCE_S) * 1000 + 1)
    assertRefused(await rig.verifier.verifyUncached(token), 'token_invalid', 'key_retired')
    // Still refused once the retired key has been pruned from the store.
    await rig.ring.rotate()
    assertRefused(await rig.verifier.verifyUncached(token), 'token_invalid', 'key_retired')
  })
})
