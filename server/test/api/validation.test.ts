import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import { SEED_POLICY, TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'
import {
  createSession,
  expectError,
  expectInvalid,
  expectJson,
  expectOAuthError,
  seedPolicy,
} from './helpers.js'

const JSON_TYPE = { 'content-type': 'application/json' }
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' }

/** Every admin endpoint, with a body that would be valid for it. */
const ADMIN_ENDPOINTS: { method: string; path: string; json?: unknown }[] = [
  { method: 'GET', path: '/v1/policy' },
  { method: 'PUT', path: '/v1/policy', json: SEED_POLICY },
  { method: 'POST', path: '/v1/policy/changes', json: { type: 'role.delete', role: 'viewer' } },
  { method: 'PUT', path: '/v1/subjects/bob/roles', json: { roles: ['admin'] } },
  { method: 'POST', path: '/v1/revocations', json: { subject: 'alice' } },
  { method: 'DELETE', path: '/v1/revocations', json: { subject: 'alice' } },
  { method: 'POST', path: '/v1/sessions', json: { sub: 'mallory' } },
  { method: 'GET', path: '/v1/sessions' },
  { method: 'POST', path: '/v1/decisions', json: { subject: 'bob', action: 'a', resource: 'b' } },
  { method: 'POST', path: '/v1/keys/rotate' },
]

describe('API input validation and authentication', () => {
  let node: TestNode
  let bob: TokenPair
  let carol: TokenPair

  before(async () => {
    node = await startNode()
    await seedPolicy(node)
    bob = await createSession(node, 'bob')
    carol = await createSession(node, 'carol')
  })
  after(() => node.close())

  async function policyVersion(): Promise<number> {
    const body = await expectJson<{ version: number }>(await node.api('/v1/policy'))
    return body.version
  }

  describe('request bodies', () => {
    it('a malformed JSON body is refused with 400 invalid_request', async () => {
      for (const path of ['/v1/sessions', '/v1/decisions', '/v1/revocations']) {
        const res = await node.api(path, { method: 'POST', body: '{"sub":', headers: JSON_TYPE })
        const error = await expectError(res, 400, 'invalid_request')
        assert.match(error.message, /JSON/)
      }
      // The token endpoint answers in RFC 6749's shape (see token-endpoint.test.ts).
      const token = await node.api('/v1/token', {
        method: 'POST',
        body: '{"sub":',
        headers: JSON_TYPE,
      })
      const error = await expectOAuthError(token, 400, 'invalid_request')
      assert.match(String(error['error_description']), /JSON/)
      const put = await node.api('/v1/policy', { method: 'PUT', body: '{', headers: JSON_TYPE })
      await expectError(put, 400, 'invalid_request')
    })

    it('a JSON body that is not an object or array is refused with 400 invalid_request', async () => {
      for (const body of ['null', '"alice"', '42']) {
        const res = await node.api('/v1/sessions', { method: 'POST', body, headers: JSON_TYPE })
        await expectError(res, 400, 'invalid_request')
      }
    })

    it('a text/plain body on a JSON endpoint is refused with 415 unsupported_media_type', async () => {
      const text = { 'content-type': 'text/plain' }
      const body = JSON.stringify({ sub: 'alice' })
      for (const path of ['/v1/sessions', '/v1/decisions', '/v1/revocations']) {
        const res = await node.api(path, { method: 'POST', body, headers: text })
        await expectError(res, 415, 'unsupported_media_type')
      }
      // RFC 6749 §5.2 knows no 415: the token endpoint calls it a malformed request.
      const token = await node.api('/v1/token', { method: 'POST', body, headers: text })
      await expectOAuthError(token, 400, 'invalid_request')
      const put = await node.api('/v1/policy', { method: 'PUT', body: '{}', headers: text })
      await expectError(put, 415, 'unsupported_media_type')
    })

    it('a body without any content type is refused with 415 unsupported_media_type', async () => {
      const res = await node.api('/v1/sessions', { method: 'POST', body: '{"sub":"alice"}' })
      await expectError(res, 415, 'unsupported_media_type')
    })

    it('a form body is accepted only by the token endpoint', async () => {
      const res = await node.api('/v1/sessions', {
        method: 'POST',
        body: 'sub=alice',
        headers: FORM_TYPE,
      })
      await expectError(res, 415, 'unsupported_media_type')
    })

    it('a JSON body in a charset other than UTF is refused with 415 unsupported_media_type', async () => {
      const res = await node.api('/v1/sessions', {
        method: 'POST',
        body: '{"sub":"alice"}',
        headers: { 'content-type': 'application/json; charset=latin1' },
      })
      await expectError(res, 415, 'unsupported_media_type')
    })

    it('a body over its route’s limit (1 MB; 16 MB for policy writes) is refused with 413 payload_too_large', async () => {
      const huge = { ...SEED_POLICY, padding: 'x'.repeat(16 * 1024 * 1024) }
      const before = await policyVersion()
      const res = await node.api('/v1/policy', { method: 'PUT', json: huge })
      await expectError(res, 413, 'payload_too_large')
      const decisions = Array.from({ length: 6000 }, () => ({
        subject: 'bob',
        action: 'doc:read:' + 'r'.repeat(200),
        resource: 'doc/1',
      }))
      const batch = await node.api('/v1/decisions', { method: 'POST', json: decisions })
      await expectError(batch, 413, 'payload_too_large')
      assert.equal(await policyVersion(), before)
    })

    it('a form body over 16 KB on the token endpoint is refused with 413 naming its limit', async () => {
      const res = await node.api('/v1/token', {
        method: 'POST',
        auth: null,
        body: `grant_type=refresh_token&refresh_token=${'a'.repeat(20_000)}`,
        headers: FORM_TYPE,
      })
      const error = await expectOAuthError(res, 413, 'invalid_request')
      const description = String(error['error_description'])
      assert.match(description, /16384 bytes/, 'the form limit, not the JSON limit')
    })

    it('a field of the wrong type is refused with 400 naming it', async () => {
      const res = await node.api('/v1/sessions', { method: 'POST', json: { sub: 42 } })
      await expectInvalid(res, 'invalid_request', 'sub')
      const claims = await node.api('/v1/sessions', {
        method: 'POST',
        json: { sub: 'alice', claims: ['tenant'] },
      })
      await expectInvalid(claims, 'invalid_request', 'claims')
      const missing = await node.api('/v1/sessions', { method: 'POST', json: {} })
      await expectInvalid(missing, 'invalid_request', 'sub')
    })

    it('a subject with a tab, a double space, a glob or nothing is refused with 400 naming sub', async () => {
      for (const sub of ['a\tb', 'a  b', ' a', 'ali*', '']) {
        const res = await node.api('/v1/sessions', { method: 'POST', json: { sub } })
        await expectInvalid(res, 'invalid_request', 'sub')
      }
    })

    it('an unknown field is refused with 400 naming it', async () => {
      const res = await node.api('/v1/sessions', { method: 'POST', json: { sub: 'a', x: 1 } })
      const error = await expectInvalid(res, 'invalid_request', 'x')
      assert.match(error.message, /unknown field/)
      const proto = await node.api('/v1/sessions', {
        method: 'POST',
        body: '{"sub":"a","__proto__":{"admin":true}}',
        headers: JSON_TYPE,
      })
      await expectInvalid(proto, 'invalid_request', '__proto__')
      const roles = await node.api('/v1/subjects/alice/roles', {
        method: 'PUT',
        json: { roles: ['viewer'], expires: 1 },
      })
      await expectInvalid(roles, 'invalid_request', 'expires')
    })

    it('a reserved claim in a new session is refused with 400 naming it', async () => {
      for (const name of ['sub', 'exp', 'iss', 'cnf']) {
        const res = await node.api('/v1/sessions', {
          method: 'POST',
          json: { sub: 'alice', claims: { [name]: 'x' } },
        })
        await expectInvalid(res, 'invalid_request', `claims.${name}`)
      }
    })

    it('an unknown role in PUT /v1/subjects/:sub/roles is refused with 400 invalid_policy naming roles.0', async () => {
      const before = await policyVersion()
      const res = await node.api('/v1/subjects/alice/roles', {
        method: 'PUT',
        json: { roles: ['superuser'] },
      })
      const error = await expectInvalid(res, 'invalid_policy', 'roles.0')
      assert.match(error.details![0]!.message, /superuser/)
      const second = await node.api('/v1/subjects/alice/roles', {
        method: 'PUT',
        json: { roles: ['viewer', 'root'] },
      })
      await expectInvalid(second, 'invalid_policy', 'roles.1')
      assert.equal(await policyVersion(), before, 'nothing was applied')
    })

    it('an invalid subject in the path of PUT /v1/subjects/:sub/roles is refused naming sub', async () => {
      const res = await node.api('/v1/subjects/a%09b/roles', {
        method: 'PUT',
        json: { roles: ['viewer'] },
      })
      await expectInvalid(res, 'invalid_request', 'sub')
    })

    it('an invalid policy document is refused with 400 invalid_policy naming its JSON path', async () => {
      const before = await policyVersion()
      const badAction = structuredClone(SEED_POLICY) as Record<string, unknown>
      ;(
        badAction['roles'] as { editor: { permissions: Record<string, unknown>[] } }
      ).editor.permissions[0]!['action'] = 42
      const cases: [unknown, string][] = [
        [badAction, 'roles.editor.permissions.0.action'],
        [{ ...SEED_POLICY, bindings: { bob: ['viewer', 'ghost'] } }, 'bindings.bob.1'],
        [{ ...SEED_POLICY, owner: 'me' }, 'owner'],
        [
          {
            ...SEED_POLICY,
            rules: [
              { id: 'r1', effect: 'maybe', subjects: ['*'], actions: ['*'], resources: ['*'] },
            ],
          },
          'rules.0.effect',
        ],
      ]
      for (const [doc, path] of cases) {
        const res = await node.api('/v1/policy', { method: 'PUT', json: doc })
        await expectInvalid(res, 'invalid_policy', path)
      }
      const array = await node.api('/v1/policy', { method: 'PUT', json: [SEED_POLICY] })
      await expectInvalid(array, 'invalid_policy', '(root)')
      assert.equal(await policyVersion(), before, 'no invalid document was applied')
    })

    it('a revocation naming two targets is refused with 400 naming the extra one', async () => {
      const res = await node.api('/v1/revocations', {
        method: 'POST',
        json: { subject: 'alice', session: 'abc' },
      })
      await expectInvalid(res, 'invalid_request', /^(subject|session)$/)
      const three = await node.api('/v1/revocations', {
        method: 'POST',
        json: { subject: 'alice', session: 'abc', jti: 'def' },
      })
      await expectInvalid(three, 'invalid_request', /^(subject|session|jti)$/)
    })

    it('a revocation naming no target is refused with 400 naming a target field', async () => {
      for (const json of [{}, { reason: 'offboarded' }]) {
        const res = await node.api('/v1/revocations', { method: 'POST', json })
        await expectInvalid(res, 'invalid_request', /^(subject|session|jti)$/)
        const lift = await node.api('/v1/revocations', { method: 'DELETE', json })
        await expectInvalid(lift, 'invalid_request', /^(subject|session|jti)$/)
      }
    })

    it('a revocation with an unreadable issued_before is refused naming issued_before', async () => {
      for (const issued_before of ['yesterday', -1, 1.5]) {
        const res = await node.api('/v1/revocations', {
          method: 'POST',
          json: { subject: 'alice', issued_before },
        })
        await expectInvalid(res, 'invalid_request', 'issued_before')
      }
      const onSession = await node.api('/v1/revocations', {
        method: 'POST',
        json: { session: 'abc', issued_before: 'now' },
      })
      await expectInvalid(onSession, 'invalid_request', 'issued_before')
    })

    it('a decisions batch of more than 1000 queries is refused with 400', async () => {
      const query = { subject: 'bob', action: 'doc:read', resource: 'doc/1' }
      const res = await node.api('/v1/decisions', {
        method: 'POST',
        json: Array.from({ length: 1001 }, () => query),
      })
      const error = await expectInvalid(res, 'invalid_request', '(root)')
      assert.match(error.details![0]!.message, /1000/)
      const empty = await node.api('/v1/decisions', { method: 'POST', json: [] })
      await expectInvalid(empty, 'invalid_request', '(root)')
    })

    it('a decisions batch of exactly 1000 queries is answered in full', async () => {
      const query = { subject: 'bob', action: 'doc:read', resource: 'doc/1' }
      const res = await node.api('/v1/decisions', {
        method: 'POST',
        json: Array.from({ length: 1000 }, () => query),
      })
      const answers = await expectJson<{ allow: boolean }[]>(res)
      assert.equal(answers.length, 1000)
      assert.ok(answers.every((a) => a.allow))
    })

    it('a bad decision query is refused with 400 naming its field, inside a batch by index', async () => {
      const single = await node.api('/v1/decisions', {
        method: 'POST',
        json: { subject: 'bob', action: 5, resource: 'doc/1' },
      })
      await expectInvalid(single, 'invalid_request', 'action')
      const batch = await node.api('/v1/decisions', {
        method: 'POST',
        json: [
          { subject: 'bob', action: 'doc:read', resource: 'doc/1' },
          { token: 'x.y.z', action: 'doc:read', resource: '' },
        ],
      })
      await expectInvalid(batch, 'invalid_request', '1.resource')
      const both = await node.api('/v1/decisions', {
        method: 'POST',
        json: { token: 'x.y.z', subject: 'bob', action: 'doc:read', resource: 'doc/1' },
      })
      await expectInvalid(both, 'invalid_request', /^(token|subject)$/)
    })

    it('a decision token over 8 KB is refused with 400 naming token', async () => {
      const res = await node.api('/v1/decisions', {
        method: 'POST',
        json: { token: 'a.b.' + 'c'.repeat(9000), action: 'doc:read', resource: 'doc/1' },
      })
      await expectInvalid(res, 'invalid_request', 'token')
    })

    it('POST /v1/token with a wrong grant_type is refused naming grant_type, as JSON and as a form', async () => {
      const json = await node.api('/v1/token', {
        method: 'POST',
        auth: null,
        json: { grant_type: 'password', refresh_token: 'abc' },
      })
      await expectOAuthError(json, 400, 'unsupported_grant_type')
      const form = await node.api('/v1/token', {
        method: 'POST',
        auth: null,
        body: new URLSearchParams({ grant_type: 'client_credentials', refresh_token: 'abc' }),
      })
      await expectOAuthError(form, 400, 'unsupported_grant_type')
      const missing = await node.api('/v1/token', {
        method: 'POST',
        auth: null,
        body: 'refresh_token=abc',
        headers: FORM_TYPE,
      })
      const error = await expectOAuthError(missing, 400, 'invalid_request')
      assert.match(String(error['error_description']), /grant_type/)
    })

    it('POST /v1/token with an unknown refresh token is refused with 400 invalid_grant', async () => {
      const res = await node.api('/v1/token', {
        method: 'POST',
        auth: null,
        json: { grant_type: 'refresh_token', refresh_token: 'not-a-real-refresh-token' },
      })
      await expectOAuthError(res, 400, 'invalid_grant')
    })

    it('an unknown /v1 path is answered with 404 not_found', async () => {
      await expectError(await node.api('/v1/nothing-here'), 404, 'not_found')
    })
  })

  describe('authentication of the admin API', () => {
    it('a wrong API key is refused with 401 unauthorized on every admin endpoint', async () => {
      const before = await policyVersion()
      for (const { method, path, json } of ADMIN_ENDPOINTS) {
        const res = await node.api(path, {
          method,
          auth: 'wrong-api-key-0123456789abcdef',
          ...(json === undefined ? {} : { json }),
        })
        await expectError(res, 401, 'unauthorized')
      }
      const prefix = await node.api('/v1/policy', { auth: TEST_API_KEY.slice(0, -1) })
      await expectError(prefix, 401, 'unauthorized')
      const longer = await node.api('/v1/policy', { auth: TEST_API_KEY + 'x' })
      await expectError(longer, 401, 'unauthorized')
      assert.equal(await policyVersion(), before, 'nothing was changed')
    })

    it('a request without Authorization is refused with 401 unauthorized on every admin endpoint', async () => {
      for (const { method, path, json } of ADMIN_ENDPOINTS) {
        const res = await node.api(path, {
          method,
          auth: null,
          ...(json === undefined ? {} : { json }),
        })
        await expectError(res, 401, 'unauthorized')
      }
    })

    it('a non-Bearer Authorization header is refused with 401 unauthorized', async () => {
      for (const authorization of [`Basic ${btoa('admin:' + TEST_API_KEY)}`, TEST_API_KEY]) {
        const res = await node.api('/v1/policy', { auth: null, headers: { authorization } })
        await expectError(res, 401, 'unauthorized')
      }
    })

    it('every 401 of the admin API carries a Bearer WWW-Authenticate challenge', async () => {
      const cases = [
        await node.api('/v1/policy', { auth: null }),
        await node.api('/v1/policy', { auth: 'wrong-api-key-0123456789abcdef' }),
        await node.api('/v1/policy', { auth: 'not.a.token' }),
      ]
      for (const res of cases) {
        assert.equal(res.status, 401)
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer /)
        await res.body?.cancel()
      }
    })

    it('a JWT-shaped credential that is not a valid token is refused with 401 token_invalid', async () => {
      const res = await node.api('/v1/policy', { auth: 'aaaa.bbbb.cccc' })
      await expectError(res, 401, 'token_invalid')
    })

    it("a user token without vigil:admin (bob's) is refused with 403 forbidden on admin endpoints", async () => {
      const before = await policyVersion()
      const jwksBefore = await expectJson<{ keys: unknown[] }>(
        await node.api('/.well-known/jwks.json', { auth: null }),
      )
      for (const { method, path, json } of ADMIN_ENDPOINTS) {
        const res = await node.api(path, {
          method,
          auth: bob.access_token,
          ...(json === undefined ? {} : { json }),
        })
        await expectError(res, 403, 'forbidden')
        assert.match(res.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/)
      }
      assert.equal(await policyVersion(), before, 'bob changed nothing')
      const jwksAfter = await expectJson<{ keys: unknown[] }>(
        await node.api('/.well-known/jwks.json', { auth: null }),
      )
      assert.equal(jwksAfter.keys.length, jwksBefore.keys.length, 'bob rotated no key')
    })

    it("an admin's own token (carol's) works on GET /v1/policy", async () => {
      const res = await node.api('/v1/policy', { auth: carol.access_token })
      const body = await expectJson<{ version: number; policy: { bindings: unknown } }>(res)
      assert.equal(typeof body.version, 'number')
      assert.deepEqual(body.policy.bindings, SEED_POLICY.bindings)
      assert.equal(res.headers.get('etag'), `"${body.version}"`)
    })
  })

  describe('If-Match on PUT /v1/policy', () => {
    it('a matching version applies the document and answers with the next version', async () => {
      const current = await policyVersion()
      const res = await node.api('/v1/policy', {
        method: 'PUT',
        json: SEED_POLICY,
        headers: { 'if-match': `"${current}"` },
      })
      const body = await expectJson<{ version: number; at: number }>(res)
      assert.equal(body.version, current + 1)
      assert.equal(res.headers.get('etag'), `"${current + 1}"`)
      const bare = await node.api('/v1/policy', {
        method: 'PUT',
        json: SEED_POLICY,
        headers: { 'if-match': String(current + 1) },
      })
      assert.equal((await expectJson<{ version: number }>(bare)).version, current + 2)
    })

    it('a stale version is refused with 409 conflict and changes nothing', async () => {
      const current = await policyVersion()
      const res = await node.api('/v1/policy', {
        method: 'PUT',
        json: { ...SEED_POLICY, bindings: {} },
        headers: { 'if-match': `"${current - 1}"` },
      })
      await expectError(res, 409, 'conflict')
      assert.equal(await policyVersion(), current)
      const body = await expectJson<{ policy: { bindings: unknown } }>(await node.api('/v1/policy'))
      assert.deepEqual(body.policy.bindings, SEED_POLICY.bindings)
    })

    it('a garbage If-Match is refused with 400 invalid_request', async () => {
      const current = await policyVersion()
      for (const ifMatch of ['garbage', '"v1"', '-1', '1.5']) {
        const res = await node.api('/v1/policy', {
          method: 'PUT',
          json: SEED_POLICY,
          headers: { 'if-match': ifMatch },
        })
        const error = await expectError(res, 400, 'invalid_request')
        assert.match(error.message, /If-Match/)
      }
      assert.equal(await policyVersion(), current)
    })
  })

  it('nothing above crashed the node: /healthz and /readyz still answer 200', async () => {
    const health = await node.api('/healthz', { auth: null })
    assert.deepEqual(await expectJson(health), { status: 'ok' })
    const ready = await expectJson<{ status: string }>(await node.api('/readyz', { auth: null }))
    assert.equal(ready.status, 'ready')
    const errors = node.logs.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 50)
    assert.deepEqual(errors, [], 'no request reached the unhandled-error path')
    await expectJson(await node.api('/v1/policy'))
  })
})
