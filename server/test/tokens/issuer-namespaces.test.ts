import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { loadConfig } from '../../src/config.js'
import { compilePolicy } from '../../src/policy/compile.js'
import { PolicySchema } from '../../src/policy/schema.js'
import { createVerifier } from '../../src/tokens/verify.js'
import { expectError, expectJson, seedPolicy } from '../api/helpers.js'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { startFakeIdp, type FakeIdp } from '../helpers/fake-idp.js'
import { AUDIENCE, ISSUER, createRig } from './helpers.js'

const IDP_A = 'https://idp-a.example'
const IDP_B = 'https://idp-b.example'

interface Me {
  sub: string
  capabilities: { roles: string[] }
}

describe('trusted issuers have their own subject and group namespace', () => {
  let a: FakeIdp
  let b: FakeIdp
  let node: TestNode

  before(async () => {
    a = await startFakeIdp(IDP_A)
    b = await startFakeIdp(IDP_B, 'vigil-at-idp-b')
    node = await startNode({
      env: { VIGIL_TRUSTED_ISSUERS: JSON.stringify([a.trusted(), b.trusted()]) },
    })
    await seedPolicy(node)
    // Local groups with roles, which no IdP's claims may reach.
    const res = await node.api('/v1/policy/changes', {
      method: 'POST',
      json: { type: 'subject.roles', subject: 'group:admins', roles: ['admin'] },
    })
    await expectJson(res)
  })
  after(async () => {
    await node.close()
    await Promise.all([a.close(), b.close()])
  })

  const me = (token: string) => node.api('/v1/me', { auth: token })

  it("an IdP token with sub carol is not the local admin carol: its subject key is the issuer's", async () => {
    const body = await expectJson<Me>(await me(await a.token('carol')))
    assert.equal(body.sub, `${IDP_A}|carol`)
    assert.deepEqual(body.capabilities.roles, [])
    const decided = await node.api('/v1/decisions', {
      method: 'POST',
      json: { token: await a.token('carol'), action: 'policy:put', resource: 'policy' },
    })
    assert.equal((await expectJson<{ allow: boolean }>(decided)).allow, false)
  })

  it("groups ['admins'] from an IdP do not get the local group:admins' roles", async () => {
    const token = await a.token('erin', { groups: ['admins'] })
    assert.deepEqual((await expectJson<Me>(await me(token))).capabilities.roles, [])
  })

  it("an IdP's own group is bound by its qualified key and grants only that IdP's members", async () => {
    const key = `${IDP_A}|group:editors`
    const res = await node.api(`/v1/subjects/${encodeURIComponent(key)}/roles`, {
      method: 'PUT',
      json: { roles: ['editor'] },
    })
    await expectJson(res)
    const fromA = await a.token('frank', { groups: ['editors'] })
    const fromB = await b.token('frank', { groups: ['editors'] })
    assert.deepEqual((await expectJson<Me>(await me(fromA))).capabilities.roles, ['editor'])
    assert.deepEqual((await expectJson<Me>(await me(fromB))).capabilities.roles, [])
  })

  it("revoking local dave leaves IdP B's dave alone; revoking https://idp-b.example|dave revokes him", async () => {
    const local = await node.api('/v1/revocations', { method: 'POST', json: { subject: 'dave' } })
    await expectJson(local, 201)
    const daveOfB = await b.token('dave')
    assert.equal((await expectJson<Me>(await me(daveOfB))).sub, `${IDP_B}|dave`)

    const res = await node.api('/v1/revocations', {
      method: 'POST',
      json: { subject: `${IDP_B}|dave`, reason: 'offboarded' },
    })
    await expectJson(res, 201)
    await expectError(await me(daveOfB), 401, 'revoked')
    // IdP A's dave is a third person.
    await expectJson<Me>(await me(await a.token('dave')))
  })

  it('a token living longer than the default maximum of 3600 s is refused as token_invalid', async () => {
    const iat = Math.floor(Date.now() / 1000)
    const token = await a.token('gina', { iat, exp: iat + 3601 })
    const error = await expectError(await me(token), 401, 'token_invalid')
    assert.match(error.message, /lifetime_exceeded/)
    await expectJson<Me>(await me(await a.token('gina', { iat, exp: iat + 3600 })))
  })

  it('a local session cannot be minted for a subject holding the issuer separator', async () => {
    const res = await node.api('/v1/sessions', { method: 'POST', json: { sub: `${IDP_B}|dave` } })
    const error = await expectError(res, 400, 'invalid_request')
    assert.equal(error.details?.[0]?.path, 'sub')
  })
})

describe('per-issuer options', () => {
  let idp: FakeIdp
  before(async () => {
    idp = await startFakeIdp(IDP_A)
  })
  after(() => idp.close())

  it('shared_groups and max_token_lifetime are read from VIGIL_TRUSTED_ISSUERS', () => {
    const parsed = loadConfig({
      VIGIL_TRUSTED_ISSUERS: JSON.stringify([
        idp.trusted({ shared_groups: true, max_token_lifetime: 900 }),
      ]),
    })
    assert.ok(parsed.ok)
    assert.equal(parsed.config.trustedIssuers[0]?.sharedGroups, true)
    assert.equal(parsed.config.trustedIssuers[0]?.maxTokenLifetimeS, 900)
    const bad = loadConfig({
      VIGIL_TRUSTED_ISSUERS: JSON.stringify([idp.trusted({ max_token_lifetime: 0 })]),
    })
    assert.equal(bad.ok, false)
  })

  it('an issuer configured with shared_groups gives the local group keys', async () => {
    const r = await createRig()
    const trusted = { issuer: IDP_A, jwksUrl: idp.jwksUrl, audience: idp.audience }
    const verifier = (sharedGroups: boolean) =>
      createVerifier({
        keyRing: r.ring,
        issuer: ISSUER,
        audience: AUDIENCE,
        trustedIssuers: [{ ...trusted, algorithms: ['RS256'], sharedGroups }],
      })
    const policy = compilePolicy(
      PolicySchema.parse({
        roles: { admin: { permissions: [{ action: '*', resource: '*' }] } },
        bindings: { 'group:admins': ['admin'] },
      }),
      1,
    )
    const token = await idp.token('hal', { groups: ['admins'] })
    const shared = await verifier(true).verify(token)
    assert.ok(shared.ok)
    assert.equal(shared.principal.sub, `${IDP_A}|hal`)
    assert.deepEqual(policy.rolesOf(shared.principal), ['admin'])
    const own = await verifier(false).verify(token)
    assert.ok(own.ok)
    assert.deepEqual(policy.keysOf(own.principal), [`${IDP_A}|hal`, `${IDP_A}|group:admins`])
    assert.deepEqual(policy.rolesOf(own.principal), [])
  })

  it('a configured max_token_lifetime is enforced instead of the default', async () => {
    const r = await createRig()
    const trusted = { issuer: IDP_A, jwksUrl: idp.jwksUrl, audience: idp.audience }
    const verifier = (maxTokenLifetimeS: number) =>
      createVerifier({
        keyRing: r.ring,
        issuer: ISSUER,
        audience: AUDIENCE,
        trustedIssuers: [{ ...trusted, algorithms: ['RS256'], maxTokenLifetimeS }],
      })
    const iat = Math.floor(Date.now() / 1000)
    const token = await idp.token('ivy', { iat, exp: iat + 600 })
    assert.deepEqual(await verifier(300).verify(token), {
      ok: false,
      code: 'token_invalid',
      detail: 'lifetime_exceeded',
    })
    assert.equal((await verifier(600).verify(token)).ok, true)
  })

  it('an issuer holding the separator | is refused at construction', async () => {
    const r = await createRig()
    assert.throws(
      () =>
        createVerifier({
          keyRing: r.ring,
          issuer: ISSUER,
          audience: AUDIENCE,
          trustedIssuers: [{ issuer: 'https://x|y', jwksUrl: idp.jwksUrl, audience: 'a' }],
        }),
      TypeError,
    )
  })
})
