import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { SignJWT, exportJWK, generateKeyPair } from 'jose'
import type { JWTPayload } from 'jose'
import { compilePolicy } from '../../src/policy/compile.js'
import { PolicySchema } from '../../src/policy/schema.js'
import { createVerifier } from '../../src/tokens/verify.js'
import { AUDIENCE, ISSUER, createRig } from './helpers.js'

const IDP = 'https://idp.example'
const IDP_AUDIENCE = 'vigil-at-idp'

describe('trusted external issuers', () => {
  let server: Server
  let jwksUrl: string
  let idpKey: CryptoKey
  let fetches = 0

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256')
    idpKey = privateKey
    const jwks = {
      keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' }],
    }
    server = createServer((req, res) => {
      fetches++
      if (req.url !== '/jwks.json') return void res.writeHead(404).end()
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`
  })

  after(() => new Promise<void>((resolve) => server.close(() => resolve())))

  async function rig() {
    const r = await createRig({
      verifier: {
        trustedIssuers: [{ issuer: IDP, jwksUrl, audience: IDP_AUDIENCE, algorithms: ['RS256'] }],
      },
    })
    return r
  }

  function idpToken(now: number, overrides: JWTPayload = {}): Promise<string> {
    const iat = Math.floor(now / 1000)
    const claims = { iss: IDP, aud: IDP_AUDIENCE, sub: 'bob', sid: 'idp-s', jti: 'idp-j', iat }
    return new SignJWT({ ...claims, exp: iat + 300, ...overrides })
      .setProtectedHeader({ alg: 'RS256', kid: 'idp-1', typ: 'at+jwt' })
      .sign(idpKey)
  }

  it('a token from a trusted issuer verifies through its JWKS', async () => {
    const r = await rig()
    const result = await r.verifier.verify(await idpToken(r.clock.now()))
    assert.ok(result.ok)
    assert.equal(result.principal.sub, `${IDP}|bob`)
    assert.equal(result.principal.claims.iss, IDP)
    assert.ok(fetches >= 1)
  })

  it('an issuer minting sub group:admins gets no group grants: such a subject is no key', async () => {
    const r = await rig()
    const result = await r.verifier.verify(
      await idpToken(r.clock.now(), { sub: 'group:admins', groups: ['staff'] }),
    )
    assert.ok(result.ok, 'identity is the issuer’s business')
    const policy = compilePolicy(
      PolicySchema.parse({
        roles: {
          admin: { permissions: [{ action: '*', resource: '*' }] },
          staff: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
        },
        // The issuer's own groups: its sub `group:admins` reads as `${IDP}|group:admins`.
        bindings: { [`${IDP}|group:admins`]: ['admin'], [`${IDP}|group:staff`]: ['staff'] },
      }),
      1,
    )
    assert.equal(policy.decide(result.principal, 'policy:put', 'policy').allow, false)
    assert.deepEqual(policy.rolesOf(result.principal), ['staff'])
  })

  it('a token from a trusted issuer with the wrong audience is refused', async () => {
    const r = await rig()
    const token = await idpToken(r.clock.now(), { aud: AUDIENCE })
    const result = await r.verifier.verify(token)
    assert.deepEqual(result, { ok: false, code: 'token_invalid', detail: 'audience_invalid' })
  })

  it('a token from an issuer that is not trusted is refused as untrusted_issuer', async () => {
    const r = await rig()
    const token = await idpToken(r.clock.now(), { iss: 'https://other-idp.example' })
    const result = await r.verifier.verify(token)
    assert.deepEqual(result, { ok: false, code: 'token_invalid', detail: 'untrusted_issuer' })
  })

  it('Vigil tokens still verify with trusted issuers configured', async () => {
    const r = await rig()
    const { token } = await r.issuer.issueAccessToken({ sub: 'alice', sid: 's1' })
    assert.equal((await r.verifier.verify(token)).ok, true)
  })

  it('an RS256 token claiming the Vigil issuer is refused as alg_not_allowed', async () => {
    const r = await rig()
    const token = await idpToken(r.clock.now(), { iss: ISSUER, aud: AUDIENCE })
    const result = await r.verifier.verify(token)
    assert.deepEqual(result, { ok: false, code: 'token_invalid', detail: 'alg_not_allowed' })
  })

  it('an unreachable JWKS is refused as jwks_unavailable without throwing', async () => {
    const r = await createRig({
      verifier: {
        trustedIssuers: [
          {
            issuer: IDP,
            jwksUrl: 'http://127.0.0.1:1/jwks.json',
            audience: IDP_AUDIENCE,
            algorithms: ['RS256'],
          },
        ],
      },
    })
    const result = await r.verifier.verify(await idpToken(r.clock.now()))
    assert.deepEqual(result, { ok: false, code: 'token_invalid', detail: 'jwks_unavailable' })
  })

  it('trusted issuers with plain-http remote JWKS or HMAC algorithms are refused at construction', async () => {
    const r = await rig()
    const base = { keyRing: r.ring, issuer: ISSUER, audience: AUDIENCE }
    const idp = { issuer: IDP, audience: IDP_AUDIENCE }
    const bad = [
      { ...idp, jwksUrl: 'http://idp.example/jwks.json' },
      { ...idp, jwksUrl, algorithms: ['HS256'] },
      { ...idp, jwksUrl: 'not a url' },
      { ...idp, issuer: ISSUER, jwksUrl },
    ]
    for (const t of bad)
      assert.throws(() => createVerifier({ ...base, trustedIssuers: [t] }), TypeError)
  })
})
