import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { SignJWT } from 'jose'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { createSession, expectError, expectInvalid, expectJson, seedPolicy } from './helpers.js'

const JSON_TYPE = { 'content-type': 'application/json' }

/** ESC (a terminal escape), BEL, NUL, DEL, a C1 CSI, zero-width space, RLO, BOM, a lone surrogate. */
const UNPRINTABLE = [
  '\u001b[2J',
  '\u0007',
  '\u0000',
  '\u007f',
  '\u009b',
  '\u200b',
  '\u202e',
  '\ufeff',
  '\ud800',
]

describe('names and subjects', () => {
  let node: TestNode

  before(async () => {
    node = await startNode()
    await seedPolicy(node)
  })
  after(() => node.close())

  /** A token signed with the node's own key, carrying whatever claims the test wants. */
  async function ownToken(claims: Record<string, unknown>): Promise<string> {
    const signer = await node.enforcer.keyRing.signingKey()
    const iat = Math.floor(Date.now() / 1000)
    const { issuer, audience } = node.enforcer.config
    return new SignJWT({ iss: issuer, aud: audience, sid: 's-n', jti: `j-${iat}`, iat, ...claims })
      .setExpirationTime(iat + 300)
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'at+jwt' })
      .sign(signer.key)
  }

  const me = (token: string) => node.api('/v1/me', { auth: token })

  describe('one rule for subjects, at verification and in every API body', () => {
    const accepted = ['alice smith', 'a'.repeat(300)]

    for (const sub of accepted) {
      it(`a subject of ${sub.length} characters like "${sub.slice(0, 12)}" signs in, is bound and is revoked by name`, async () => {
        const pair = await createSession(node, sub)
        const path = `/v1/subjects/${encodeURIComponent(sub)}/roles`
        await expectJson(await node.api(path, { method: 'PUT', json: { roles: ['viewer'] } }))
        const body = await expectJson<{ sub: string; capabilities: { roles: string[] } }>(
          await me(pair.access_token),
        )
        assert.equal(body.sub, sub)
        assert.deepEqual(body.capabilities.roles, ['viewer'])
        const revoked = await node.api('/v1/revocations', {
          method: 'POST',
          json: { subject: sub },
        })
        await expectJson(revoked, 201)
        await expectError(await me(pair.access_token), 401, 'revoked')
      })
    }

    const refused = [
      'toString',
      '__proto__',
      'constructor',
      'a'.repeat(513),
      'alice  smith',
      ' alice',
      'alice\tsmith',
      'ali*',
      'alice\u2028',
      ...UNPRINTABLE.map((c) => `eve${c}`),
    ]

    it('a token whose sub breaks the rule is refused at verification with token_invalid', async () => {
      for (const sub of refused) {
        const error = await expectError(await me(await ownToken({ sub })), 401, 'token_invalid')
        assert.match(error.message, /claim_invalid/, JSON.stringify(sub))
      }
    })

    it('a subject that breaks the rule is refused by every API body that names one', async () => {
      for (const subject of refused) {
        const bodies: [string, string, unknown][] = [
          ['POST', '/v1/sessions', { sub: subject }],
          ['POST', '/v1/revocations', { subject }],
          ['POST', '/v1/revocations', { subject, issued_before: 'now' }],
          ['POST', '/v1/decisions', { subject, action: 'doc:read', resource: 'doc/1' }],
          ['POST', '/v1/policy/changes', { type: 'subject.roles', subject, roles: [] }],
        ]
        for (const [method, path, json] of bodies) {
          const res = await node.api(path, { method, json })
          const error = await expectError(res, 400, 'invalid_request')
          assert.ok(error.details?.length, `${path} ${JSON.stringify(subject)}`)
        }
        // A lone surrogate has no URI form; the bodies above carry it.
        if (/\p{Cs}/u.test(subject)) continue
        const put = await node.api(`/v1/subjects/${encodeURIComponent(subject)}/roles`, {
          method: 'PUT',
          json: { roles: [] },
        })
        // An over-long or NUL-holding path may be refused before the route; never accepted.
        assert.equal(put.status, 400, JSON.stringify(subject))
      }
    })

    it('a sid or jti that could not be revoked by name is refused at verification', async () => {
      for (const claims of [{ sid: 'two words' }, { jti: 'j\u200b' }, { sid: 'x'.repeat(201) }]) {
        const token = await ownToken({ sub: 'bob', ...claims })
        await expectError(await me(token), 401, 'token_invalid')
      }
    })
  })

  describe('control and format characters in names', () => {
    it('role names, rule ids, descriptions and bindings with them are refused by PUT /v1/policy', async () => {
      for (const c of UNPRINTABLE) {
        const documents = [
          { roles: { [`ad${c}min`]: { permissions: [] } } },
          { roles: { viewer: { description: `x${c}`, permissions: [] } } },
          { bindings: { [`bob${c}`]: [] } },
          {
            rules: [
              { id: `r${c}`, effect: 'deny', subjects: ['*'], actions: ['*'], resources: ['*'] },
            ],
          },
          {
            rules: [
              { id: 'r', effect: 'deny', subjects: [`b${c}*`], actions: ['*'], resources: ['*'] },
            ],
          },
          {
            roles: { viewer: { permissions: [{ action: `doc:${c}read`, resource: 'doc/*' }] } },
          },
        ]
        for (const json of documents) {
          const res = await node.api('/v1/policy', { method: 'PUT', json })
          await expectError(res, 400, 'invalid_policy')
        }
      }
    })

    it('a session, jti or reason with them is refused by POST /v1/revocations naming the field', async () => {
      for (const c of UNPRINTABLE) {
        const cases: [Record<string, unknown>, string][] = [
          [{ session: `s${c}` }, 'session'],
          [{ jti: `j${c}` }, 'jti'],
          [{ subject: 'bob', reason: `gone${c}` }, 'reason'],
        ]
        for (const [json, path] of cases) {
          const res = await node.api('/v1/revocations', { method: 'POST', json })
          await expectInvalid(res, 'invalid_request', path)
        }
      }
    })
  })

  describe('a rule condition must hold a condition', () => {
    const rule = (when: string) =>
      `{"id":"open","effect":"allow","subjects":["*"],"actions":["*"],"resources":["*"],"when":${when}}`
    const whens = [
      '{}',
      '{"__proto__":["x"]}',
      '{"__proto__":{"acr":["x"]}}',
      '{"constructor":["x"]}',
    ]

    it('PUT /v1/policy refuses a when that is empty or holds only prototype keys', async () => {
      for (const when of whens) {
        const res = await node.api('/v1/policy', {
          method: 'PUT',
          body: `{"rules":[${rule(when)}]}`,
          headers: JSON_TYPE,
        })
        await expectInvalid(res, 'invalid_policy', /^rules\.0\.when/)
      }
    })

    it('a rule.put change refuses a when that is empty or holds only prototype keys', async () => {
      for (const when of whens) {
        const res = await node.api('/v1/policy/changes', {
          method: 'POST',
          body: `{"type":"rule.put","rule":${rule(when)}}`,
          headers: JSON_TYPE,
        })
        await expectInvalid(res, 'invalid_request', /^rule\.when/)
      }
    })

    it('a __proto__ key beside real conditions is refused, not stripped', async () => {
      const res = await node.api('/v1/policy/changes', {
        method: 'POST',
        body: `{"type":"rule.put","rule":${rule('{"acr":["mfa"],"__proto__":["x"]}')}}`,
        headers: JSON_TYPE,
      })
      await expectInvalid(res, 'invalid_request', 'rule.when.__proto__')
    })

    it('prototype keys in roles and bindings are refused, not stripped', async () => {
      for (const body of [
        '{"roles":{"__proto__":{"permissions":[]}}}',
        '{"bindings":{"__proto__":["viewer"]}}',
        '{"groupClaims":{"__proto__":"group"}}',
      ]) {
        const res = await node.api('/v1/policy', { method: 'PUT', body, headers: JSON_TYPE })
        await expectError(res, 400, 'invalid_policy')
      }
    })

    it('a rule with a real condition is still accepted', async () => {
      const res = await node.api('/v1/policy/changes', {
        method: 'POST',
        body: `{"type":"rule.put","rule":${rule('{"acr":["mfa"]}')}}`,
        headers: JSON_TYPE,
      })
      await expectJson(res)
    })
  })
})
