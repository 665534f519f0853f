import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Capabilities, TokenPair } from '@vigil-enforcer/client/protocol'
import { TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'
import {
  createSession,
  expectError,
  expectOAuthError,
  expectInvalid,
  expectJson,
  jwtPart,
  seedPolicy,
  waitForAudit,
} from './helpers.js'

interface Me {
  sub: string
  sid: string
  exp: number
  capabilities: Capabilities
  version: number
}

interface Decision {
  allow: boolean
  reason: string
  rule?: string
  version: number
  code?: string
}

interface Jwks {
  keys: Record<string, unknown>[]
}

const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' }

describe('the public HTTP surface', () => {
  let node: TestNode

  before(async () => {
    node = await startNode({
      routes(app, e) {
        app.get(
          '/api/docs/:id',
          e.enforce('doc:read', (req) => `doc/${req.params['id']}`),
          (req, res) => {
            res.json({ ok: true, sub: req.vigil?.principal.sub })
          },
        )
        app.put(
          '/api/docs/:id',
          e.enforce('doc:write', (req) => `doc/${req.params['id']}`),
          (_req, res) => {
            res.json({ ok: true })
          },
        )
      },
    })
    await seedPolicy(node)
  })
  after(() => node.close())

  const me = (token: string | null): Promise<Response> => node.api('/v1/me', { auth: token })

  async function version(): Promise<number> {
    return (await expectJson<{ version: number }>(await node.api('/readyz', { auth: null })))
      .version
  }

  async function decide(query: Record<string, unknown>): Promise<Decision> {
    return expectJson<Decision>(await node.api('/v1/decisions', { method: 'POST', json: query }))
  }

  async function refresh(refreshToken: string, as: 'json' | 'form' = 'json'): Promise<Response> {
    const fields = { grant_type: 'refresh_token', refresh_token: refreshToken }
    return as === 'json'
      ? node.api('/v1/token', { method: 'POST', auth: null, json: fields })
      : node.api('/v1/token', {
          method: 'POST',
          auth: null,
          body: new URLSearchParams(fields).toString(),
          headers: FORM_TYPE,
        })
  }

  async function revoke(json: Record<string, unknown>): Promise<number> {
    const res = await node.api('/v1/revocations', { method: 'POST', json })
    const body = await expectJson<{ version: number; at: number }>(res, 201)
    assert.equal(typeof body.at, 'number')
    return body.version
  }

  async function lift(json: Record<string, unknown>): Promise<void> {
    await expectJson(await node.api('/v1/revocations', { method: 'DELETE', json }))
  }

  describe('sessions and tokens', () => {
    it('POST /v1/sessions mints a Bearer token pair for a subject with custom claims', async () => {
      const res = await node.api('/v1/sessions', {
        method: 'POST',
        json: { sub: 'alice', claims: { tenant: 'acme' } },
      })
      const pair = await expectJson<TokenPair>(res, 201)
      assert.deepEqual(Object.keys(pair).sort(), [
        'access_token',
        'expires_in',
        'refresh_token',
        'session_id',
        'token_type',
      ])
      assert.equal(pair.token_type, 'Bearer')
      assert.equal(pair.expires_in, 300)
      assert.match(pair.refresh_token, /^[\w-]{22}\.[\w-]{22}\.[\w-]{43}$/)
      assert.equal(res.headers.get('cache-control'), 'no-store')
      const header = jwtPart(pair.access_token, 0)
      const claims = jwtPart(pair.access_token, 1)
      assert.equal(header['typ'], 'at+jwt')
      assert.equal(claims['sub'], 'alice')
      assert.equal(claims['sid'], pair.session_id)
      assert.equal(claims['tenant'], 'acme')
      assert.equal(claims['aud'], 'vigil')
      assert.equal(typeof claims['jti'], 'string')
      assert.equal(claims['exp'], (claims['iat'] as number) + 300)
    })

    it('a reserved claim in a new session is refused with 400', async () => {
      const res = await node.api('/v1/sessions', {
        method: 'POST',
        json: { sub: 'alice', claims: { sub: 'x' } },
      })
      await expectInvalid(res, 'invalid_request', 'claims.sub')
    })

    it("GET /v1/me answers a user's own subject, session, capabilities and version", async () => {
      const alice = await createSession(node, 'alice', { tenant: 'acme' })
      const body = await expectJson<Me>(await me(alice.access_token))
      assert.equal(body.sub, 'alice')
      assert.equal(body.sid, alice.session_id)
      assert.deepEqual(body.capabilities, {
        roles: ['editor'],
        allow: [
          { action: 'doc:read', resource: 'doc/*' },
          { action: 'doc:write', resource: 'doc/*' },
        ],
        deny: [],
      })
      assert.equal(body.version, await version())
    })

    it('GET /v1/me without a token is 401 with a Bearer challenge', async () => {
      const res = await me(null)
      await expectError(res, 401, 'token_missing')
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/)
    })

    it('GET /v1/me with a garbage token is 401 token_invalid with error="invalid_token"', async () => {
      for (const garbage of ['garbage', 'aaaa.bbbb.cccc']) {
        const res = await me(garbage)
        await expectError(res, 401, 'token_invalid')
        const challenge = res.headers.get('www-authenticate') ?? ''
        assert.match(challenge, /^Bearer /)
        assert.match(challenge, /error="invalid_token"/)
      }
    })

    it('GET /v1/me refuses the API key: it is not a user token', async () => {
      await expectError(await me(TEST_API_KEY), 401, 'token_invalid')
    })

    it('POST /v1/token rotates the pair; a replayed refresh token revokes the whole session', async () => {
      const first = await createSession(node, 'alice')
      const bystander = await createSession(node, 'alice')

      const second = await expectJson<TokenPair>(await refresh(first.refresh_token, 'json'))
      assert.notEqual(second.refresh_token, first.refresh_token)
      assert.notEqual(second.access_token, first.access_token)
      assert.equal(second.session_id, first.session_id)
      assert.equal(second.token_type, 'Bearer')

      const thirdRes = await refresh(second.refresh_token, 'form')
      assert.equal(thirdRes.headers.get('cache-control'), 'no-store')
      const third = await expectJson<TokenPair>(thirdRes)
      assert.notEqual(third.refresh_token, second.refresh_token)
      assert.equal((await expectJson<Me>(await me(third.access_token))).sid, first.session_id)

      const replay = await refresh(second.refresh_token, 'json')
      await expectOAuthError(replay, 400, 'invalid_grant')
      await expectOAuthError(await refresh(third.refresh_token, 'form'), 400, 'invalid_grant')
      await expectOAuthError(await refresh(first.refresh_token, 'json'), 400, 'invalid_grant')

      for (const token of [first.access_token, second.access_token, third.access_token]) {
        await expectError(await me(token), 401, 'revoked')
      }
      assert.equal((await expectJson<Me>(await me(bystander.access_token))).sub, 'alice')
      assert.ok(await expectJson(await refresh(bystander.refresh_token)))
    })
  })

  describe('decisions', () => {
    it('a token decision allows alice doc:write by her editor role', async () => {
      const alice = await createSession(node, 'alice')
      const decision = await decide({
        token: alice.access_token,
        action: 'doc:write',
        resource: 'doc/1',
      })
      assert.deepEqual(decision, {
        allow: true,
        reason: 'allowed_by_role',
        rule: 'role:editor',
        version: await version(),
      })
    })

    it('a subject decision denies bob doc:write with no_matching_permission', async () => {
      const decision = await decide({ subject: 'bob', action: 'doc:write', resource: 'doc/1' })
      assert.deepEqual(decision, {
        allow: false,
        reason: 'no_matching_permission',
        code: 'forbidden',
        version: await version(),
      })
    })

    it('a subject decision honours claim-derived groups', async () => {
      const res = await node.api('/v1/subjects/tenant:acme/roles', {
        method: 'PUT',
        json: { roles: ['viewer'] },
      })
      await expectJson(res)
      const member = await decide({
        subject: 'dave',
        claims: { tenant: 'acme' },
        action: 'doc:read',
        resource: 'doc/9',
      })
      assert.equal(member.allow, true)
      const outsider = await decide({ subject: 'dave', action: 'doc:read', resource: 'doc/9' })
      assert.equal(outsider.allow, false)
      await expectJson(
        await node.api('/v1/subjects/tenant:acme/roles', { method: 'PUT', json: { roles: [] } }),
      )
    })

    it('a batch of decisions is answered in order', async () => {
      const alice = await createSession(node, 'alice')
      const res = await node.api('/v1/decisions', {
        method: 'POST',
        json: [
          { token: alice.access_token, action: 'doc:write', resource: 'doc/1' },
          { subject: 'bob', action: 'doc:write', resource: 'doc/1' },
          { subject: 'bob', action: 'doc:read', resource: 'doc/1' },
        ],
      })
      const answers = await expectJson<Decision[]>(res)
      assert.equal(answers.length, 3)
      assert.deepEqual(
        answers.map((a) => [a.allow, a.reason]),
        [
          [true, 'allowed_by_role'],
          [false, 'no_matching_permission'],
          [true, 'allowed_by_role'],
        ],
      )
    })

    it('a garbage token in a decision is a deny with code token_invalid', async () => {
      const decision = await decide({ token: 'garbage', action: 'doc:read', resource: 'doc/1' })
      assert.equal(decision.allow, false)
      assert.equal(decision.code, 'token_invalid')
      assert.equal(decision.version, await version())
    })
  })

  describe('role changes and revocations', () => {
    it('PUT /v1/subjects/alice/roles steps her live token down and back up', async () => {
      const alice = await createSession(node, 'alice')
      const query = { token: alice.access_token, action: 'doc:write', resource: 'doc/1' }
      const before = await version()
      const res = await node.api('/v1/subjects/alice/roles', {
        method: 'PUT',
        json: { roles: ['viewer'] },
      })
      const changed = await expectJson<{ version: number }>(res)
      assert.equal(changed.version, before + 1)
      assert.equal(res.headers.get('etag'), `"${changed.version}"`)

      const denied = await decide(query)
      assert.equal(denied.allow, false)
      assert.equal(denied.reason, 'no_matching_permission')
      assert.equal(denied.version, changed.version)
      assert.equal((await decide({ ...query, action: 'doc:read' })).allow, true)
      const put = await node.api('/api/docs/1', { method: 'PUT', auth: alice.access_token })
      await expectError(put, 403, 'forbidden')
      const caps = await expectJson<Me>(await me(alice.access_token))
      assert.deepEqual(caps.capabilities.roles, ['viewer'])

      await expectJson(
        await node.api('/v1/subjects/alice/roles', { method: 'PUT', json: { roles: ['editor'] } }),
      )
      assert.equal((await decide(query)).allow, true)
    })

    it('a subject revocation refuses her tokens with its reason until it is lifted', async () => {
      const alice = await createSession(node, 'alice')
      const bob = await createSession(node, 'bob')
      await revoke({ subject: 'alice', reason: 'offboarded' })

      const res = await me(alice.access_token)
      const error = await expectError(res, 401, 'revoked')
      assert.match(error.message, /offboarded/)
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
      await expectError(await node.api('/api/docs/1', { auth: alice.access_token }), 401, 'revoked')
      const decision = await decide({
        token: alice.access_token,
        action: 'doc:read',
        resource: 'doc/1',
      })
      assert.equal(decision.allow, false)
      assert.equal(decision.code, 'revoked')
      const bySubject = await decide({ subject: 'alice', action: 'doc:read', resource: 'doc/1' })
      assert.equal(bySubject.allow, false)
      await expectError(
        await node.api('/v1/sessions', { method: 'POST', json: { sub: 'alice' } }),
        403,
        'forbidden',
      )
      await expectJson(await me(bob.access_token))

      await lift({ subject: 'alice' })
      assert.equal((await expectJson<Me>(await me(alice.access_token))).sub, 'alice')
      await createSession(node, 'alice')
    })

    it('a session revocation refuses that session only', async () => {
      const one = await createSession(node, 'alice')
      const two = await createSession(node, 'alice')
      await revoke({ session: one.session_id, reason: 'lost laptop' })
      const error = await expectError(await me(one.access_token), 401, 'revoked')
      assert.match(error.message, /lost laptop/)
      assert.equal((await expectJson<Me>(await me(two.access_token))).sid, two.session_id)
      await expectJson(await node.api('/api/docs/1', { auth: two.access_token }))
      await expectOAuthError(await refresh(one.refresh_token), 400, 'invalid_grant')
      await lift({ session: one.session_id })
      await expectJson(await me(one.access_token))
    })

    it('a jti revocation refuses that token only', async () => {
      const one = await createSession(node, 'alice')
      const two = await createSession(node, 'alice')
      const jti = jwtPart(one.access_token, 1)['jti'] as string
      await revoke({ jti })
      await expectError(await me(one.access_token), 401, 'revoked')
      await expectJson(await me(two.access_token))
      const renewed = await expectJson<TokenPair>(await refresh(one.refresh_token))
      assert.equal((await expectJson<Me>(await me(renewed.access_token))).sid, one.session_id)
      await lift({ jti })
      await expectJson(await me(one.access_token))
    })

    it("issued_before now refuses the subject's earlier tokens only", async () => {
      const alice = await createSession(node, 'alice')
      const bob = await createSession(node, 'bob')
      await revoke({ subject: 'alice', issued_before: 'now', reason: 'password changed' })
      const error = await expectError(await me(alice.access_token), 401, 'revoked')
      assert.match(error.message, /password changed/)
      await expectJson(await me(bob.access_token))

      // Token times are whole seconds and "now" rounds up: wait out the current second.
      const boundary = Math.ceil(Date.now() / 1000) * 1000
      await new Promise((resolve) => setTimeout(resolve, boundary - Date.now() + 5))
      const later = await createSession(node, 'alice')
      await expectJson(await me(later.access_token))
      await lift({ subject: 'alice', issued_before: 'now' })
      await expectJson(await me(alice.access_token))
    })
  })

  describe('an enforced route', () => {
    it('alice reads a document', async () => {
      const alice = await createSession(node, 'alice')
      const res = await node.api('/api/docs/1', { auth: alice.access_token })
      assert.deepEqual(await expectJson(res), { ok: true, sub: 'alice' })
    })

    it('a request without a token is 401 token_missing', async () => {
      const res = await node.api('/api/docs/1', { auth: null })
      await expectError(res, 401, 'token_missing')
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/)
    })

    it('a garbage or non-Bearer credential is 401 token_invalid', async () => {
      await expectError(await node.api('/api/docs/1', { auth: 'garbage' }), 401, 'token_invalid')
      const basic = await node.api('/api/docs/1', {
        auth: null,
        headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      })
      await expectError(basic, 401, 'token_invalid')
      // Outside b64token syntax: refused before any verification, with the header named.
      const spaced = await node.api('/api/docs/1', {
        auth: null,
        headers: { authorization: 'Bearer abc def' },
      })
      const body = await expectError(spaced, 401, 'token_invalid')
      assert.match(JSON.stringify(body), /not a Bearer token/)
    })

    it('bob writing a document is 403 forbidden with error="insufficient_scope"', async () => {
      const bob = await createSession(node, 'bob')
      await expectJson(await node.api('/api/docs/1', { auth: bob.access_token }))
      const res = await node.api('/api/docs/1', { method: 'PUT', auth: bob.access_token })
      await expectError(res, 403, 'forbidden')
      assert.match(res.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/)
      const alice = await createSession(node, 'alice')
      await expectJson(await node.api('/api/docs/1', { method: 'PUT', auth: alice.access_token }))
    })

    it('a token in the query string is ignored', async () => {
      const alice = await createSession(node, 'alice')
      const query = `?access_token=${encodeURIComponent(alice.access_token)}`
      await expectError(await node.api(`/api/docs/1${query}`, { auth: null }), 401, 'token_missing')
      await expectError(await node.api(`/v1/me${query}`, { auth: null }), 401, 'token_missing')
    })
  })

  describe('signing keys', () => {
    it('the JWKS publishes public signing keys only', async () => {
      const res = await node.api('/.well-known/jwks.json', { auth: null })
      const jwks = await expectJson<Jwks>(res)
      assert.equal(jwks.keys.length, 1)
      for (const key of jwks.keys) {
        assert.equal(typeof key['kid'], 'string')
        assert.ok(key['alg'] === 'EdDSA' || key['alg'] === 'ES256')
        assert.equal(key['use'], 'sig')
        assert.equal(key['d'], undefined)
      }
      assert.match(res.headers.get('cache-control') ?? '', /max-age/)
    })

    it('POST /v1/keys/rotate publishes a new signer while older tokens keep working', async () => {
      const minted = await createSession(node, 'alice')
      const before = await expectJson<Jwks>(
        await node.api('/.well-known/jwks.json', { auth: null }),
      )
      const oldKid = before.keys[0]!['kid'] as string
      assert.equal(jwtPart(minted.access_token, 0)['kid'], oldKid)

      const rotated = await expectJson<{ version: number }>(
        await node.api('/v1/keys/rotate', { method: 'POST' }),
      )
      assert.equal(typeof rotated.version, 'number')
      const after = await expectJson<Jwks>(await node.api('/.well-known/jwks.json', { auth: null }))
      assert.equal(after.keys.length, 2)
      assert.ok(after.keys.every((k) => k['d'] === undefined && k['use'] === 'sig'))
      const newKid = after.keys.map((k) => k['kid']).find((kid) => kid !== oldKid)
      assert.ok(newKid, 'a new kid is published')

      assert.equal((await expectJson<Me>(await me(minted.access_token))).sid, minted.session_id)
      const fresh = await createSession(node, 'alice')
      assert.equal(jwtPart(fresh.access_token, 0)['kid'], newKid)
      await expectJson(await me(fresh.access_token))
      const renewed = await expectJson<TokenPair>(await refresh(minted.refresh_token))
      assert.equal(jwtPart(renewed.access_token, 0)['kid'], newKid)
    })
  })

  describe('operational endpoints', () => {
    it('the discovery document names the issuer and its JWKS', async () => {
      const res = await node.api('/.well-known/openid-configuration', { auth: null })
      const doc = await expectJson<Record<string, unknown>>(res)
      assert.equal(doc['issuer'], node.enforcer.config.issuer)
      assert.equal(doc['jwks_uri'], `${node.enforcer.config.issuer}/.well-known/jwks.json`)
      assert.deepEqual(doc['grant_types_supported'], ['refresh_token'])
    })

    it('/healthz and /readyz answer 200, /readyz with the policy version', async () => {
      assert.deepEqual(await expectJson(await node.api('/healthz', { auth: null })), {
        status: 'ok',
      })
      const ready = await expectJson<Record<string, unknown>>(
        await node.api('/readyz', { auth: null }),
      )
      assert.equal(ready['status'], 'ready')
      assert.equal(ready['version'], node.enforcer.live.current().version)
      assert.equal(ready['store'], 'memory')
    })

    it('/metrics is Prometheus text with decision counts and the policy version', async () => {
      const res = await node.api('/metrics', { auth: null })
      assert.equal(res.status, 200)
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
      const text = await res.text()
      assert.match(text, /^# TYPE vigil_decisions_total counter$/m)
      assert.match(text, /^vigil_decisions_total\{[^}]*result="allow"[^}]*\} \d+$/m)
      const current = node.enforcer.live.current().version
      assert.match(text, new RegExp(`^vigil_policy_version(\\{[^}]*\\})? ${current}$`, 'm'))
    })
  })

  describe('audit', () => {
    it('allowed and denied enforced requests are audited one JSON line each, without tokens', async () => {
      const alice = await createSession(node, 'alice')
      const bob = await createSession(node, 'bob')
      await expectJson(await node.api('/api/docs/audit-1', { auth: alice.access_token }))
      await expectError(
        await node.api('/api/docs/audit-2', { method: 'PUT', auth: bob.access_token }),
        403,
        'forbidden',
      )
      const current = await version()
      const find = (resource: string) => (records: Record<string, unknown>[]) =>
        records.find((r) => r['event'] === 'decision' && r['resource'] === resource)
      const allowed = await waitForAudit(node, 'the allowed read', find('doc/audit-1'))
      const denied = await waitForAudit(node, 'the denied write', find('doc/audit-2'))

      const aliceClaims = jwtPart(alice.access_token, 1)
      const bobClaims = jwtPart(bob.access_token, 1)
      assert.deepEqual(
        pick(allowed, ['event', 'transport', 'sub', 'sid', 'jti', 'action', 'allow', 'reason']),
        {
          event: 'decision',
          transport: 'http',
          sub: 'alice',
          sid: alice.session_id,
          jti: aliceClaims['jti'],
          action: 'doc:read',
          allow: true,
          reason: 'allowed_by_role',
        },
      )
      assert.deepEqual(
        pick(denied, ['transport', 'sub', 'sid', 'jti', 'action', 'allow', 'reason']),
        {
          transport: 'http',
          sub: 'bob',
          sid: bob.session_id,
          jti: bobClaims['jti'],
          action: 'doc:write',
          allow: false,
          reason: 'no_matching_permission',
        },
      )
      for (const record of [allowed, denied]) {
        assert.equal(record['version'], current)
        assert.equal(typeof record['durationUs'], 'number')
        assert.ok((record['durationUs'] as number) >= 0)
      }
      for (const token of [alice.access_token, bob.access_token]) {
        assert.ok(!node.audit.text.includes(token), 'no access token in the audit log')
      }
    })

    it('admin changes are audited with the actor and the versions before and after', async () => {
      const carol = await createSession(node, 'carol')
      const before = await version()
      const res = await node.api('/v1/subjects/erin/roles', {
        method: 'PUT',
        auth: carol.access_token,
        json: { roles: ['viewer'] },
      })
      const { version: after } = await expectJson<{ version: number }>(res)
      assert.equal(after, before + 1)
      const byCarol = await waitForAudit(node, "carol's change", (records) =>
        records.find((r) => r['event'] === 'admin_change' && r['target'] === 'subject:erin'),
      )
      assert.deepEqual(pick(byCarol, ['actor', 'change', 'versionBefore', 'versionAfter']), {
        actor: 'sub:carol',
        change: 'subject.roles',
        versionBefore: before,
        versionAfter: after,
      })

      await revoke({ subject: 'erin', reason: 'audit test' })
      const byKey = await waitForAudit(node, 'the API key change', (records) =>
        records.find(
          (r) =>
            r['event'] === 'admin_change' &&
            r['change'] === 'revoke' &&
            r['target'] === 'subject:erin',
        ),
      )
      assert.match(byKey['actor'] as string, /^apikey:[0-9a-f]{8}$/)
      assert.equal(byKey['target'], 'subject:erin')
      assert.equal(byKey['versionAfter'], (byKey['versionBefore'] as number) + 1)
      assert.ok(!node.audit.text.includes(TEST_API_KEY), 'the API key is never audited')
      await lift({ subject: 'erin' })
    })
  })
})

function pick(record: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, record[k]]))
}
