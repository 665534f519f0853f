import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import type { ResourceOf } from '../../src/http/enforce.js'
import { SEED_POLICY, TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'
import { auditRecords, jwtPart } from './helpers.js'

type ApiInit = NonNullable<Parameters<TestNode['api']>[1]>

/** A credential that must never be written anywhere but the answer that issued it. */
interface Secret {
  what: string
  value: string
  /** Index of the response body that legitimately carried it; absent: no body may. */
  origin?: number
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/**
 * The whole token, and for a JWT each segment unique to it (the header is shared by many); for a
 * refresh token (`sid.family.secret`) its per-token secret (the session id is public and the
 * family secret is, by design, in every token of the session).
 */
function piecesOf(secret: Secret): Secret[] {
  const parts = secret.value.split('.')
  if (parts.length !== 3) return [secret]
  if (!parts[0]!.startsWith('eyJ')) {
    return [secret, { ...secret, what: `${secret.what}, secret`, value: parts[2]! }]
  }
  return [
    secret,
    { ...secret, what: `${secret.what}, payload`, value: parts[1]! },
    { ...secret, what: `${secret.what}, signature`, value: parts[2]! },
  ].filter((s) => s.value.length >= 16)
}

describe('no secret reaches a log line, an audit line or a response body', () => {
  let node: TestNode
  const bodies: { label: string; status: number; text: string }[] = []
  const secrets: Secret[] = []
  let privateDs: string[] = []

  async function call(label: string, path: string, init: ApiInit, status: number): Promise<string> {
    const res = await node.api(path, init)
    const text = await res.text()
    bodies.push({ label, status: res.status, text })
    assert.equal(res.status, status, `${label}: expected ${status}, got ${res.status} ${text}`)
    return text
  }

  async function issue(label: string, path: string, init: ApiInit, status = 200) {
    const pair = JSON.parse(await call(label, path, init, status)) as TokenPair
    const origin = bodies.length - 1
    secrets.push({ what: `access token of ${label}`, value: pair.access_token, origin })
    secrets.push({ what: `refresh token of ${label}`, value: pair.refresh_token, origin })
    return pair
  }

  const session = (sub: string, claims?: Record<string, unknown>): Promise<TokenPair> =>
    issue(
      `session of ${sub}`,
      '/v1/sessions',
      {
        method: 'POST',
        json: claims ? { sub, claims } : { sub },
      },
      201,
    )

  const refresh = (label: string, token: string, form = false): Promise<TokenPair> =>
    issue(label, '/v1/token', refreshInit(token, form))

  function refreshInit(token: string, form: boolean): ApiInit {
    const fields = { grant_type: 'refresh_token', refresh_token: token }
    return form
      ? {
          method: 'POST',
          auth: null,
          body: new URLSearchParams(fields).toString(),
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }
      : { method: 'POST', auth: null, json: fields }
  }

  /** A credential we send that the node never issued: no body may carry it either. */
  function sent(what: string, value: string): string {
    secrets.push({ what, value })
    return value
  }

  before(async () => {
    node = await startNode({
      env: { LOG_LEVEL: 'trace' },
      routes(app, e) {
        const doc: ResourceOf = (req) => `doc/${String(req.params['id'])}`
        app.get('/api/docs/:id', e.enforce('doc:read', doc), (_req, res) => {
          res.json({ ok: true })
        })
        app.put('/api/docs/:id', e.enforce('doc:write', doc), (_req, res) => {
          res.json({ ok: true })
        })
      },
    })
    secrets.push({ what: 'the API key', value: TEST_API_KEY })
    await call('seed', '/v1/policy', { method: 'PUT', json: SEED_POLICY }, 200)

    // Sessions, rotation, and a replayed refresh token that revokes its session.
    const alice = await session('alice', { tenant: 'acme' })
    const bob = await session('bob')
    const carol = await session('carol')
    const second = await refresh('alice refresh 1', alice.refresh_token)
    const third = await refresh('alice refresh 2', second.refresh_token, true)
    await call('replay', '/v1/token', refreshInit(second.refresh_token, false), 400)
    await call('after replay', '/v1/token', refreshInit(third.refresh_token, true), 400)
    await call('revoked by replay', '/v1/me', { auth: third.access_token }, 401)

    // Enforced requests, allowed and denied, and decisions by token.
    const reader = await session('alice')
    await call('read', '/api/docs/1', { auth: reader.access_token }, 200)
    await call('write', '/api/docs/1', { method: 'PUT', auth: reader.access_token }, 200)
    await call('bob write', '/api/docs/1', { method: 'PUT', auth: bob.access_token }, 403)
    await call('no token', '/api/docs/1', { auth: null }, 401)
    await call('me', '/v1/me', { auth: reader.access_token }, 200)
    const query = { action: 'doc:write', resource: 'doc/1' }
    await call(
      'decide',
      '/v1/decisions',
      {
        method: 'POST',
        json: { token: reader.access_token, ...query },
      },
      200,
    )
    await call(
      'decide batch',
      '/v1/decisions',
      {
        method: 'POST',
        json: [
          { token: reader.access_token, ...query },
          { token: bob.access_token, ...query },
          { token: third.access_token, ...query },
          { subject: 'bob', ...query },
        ],
      },
      200,
    )

    // Admin changes by key and by an admin's token; a user token on the admin API.
    await call(
      'carol admin',
      '/v1/subjects/bob/roles',
      {
        method: 'PUT',
        auth: carol.access_token,
        json: { roles: ['viewer'] },
      },
      200,
    )
    await call('bob admin', '/v1/policy', { auth: bob.access_token }, 403)
    await call(
      'revoke bob',
      '/v1/revocations',
      {
        method: 'POST',
        json: { subject: 'bob', reason: 'offboarded' },
      },
      201,
    )
    await call('bob revoked', '/v1/me', { auth: bob.access_token }, 401)
    await call('bob revoked write', '/api/docs/1', { method: 'PUT', auth: bob.access_token }, 401)
    await call('refresh revoked', '/v1/token', refreshInit(bob.refresh_token, false), 400)
    await call('lift bob', '/v1/revocations', { method: 'DELETE', json: { subject: 'bob' } }, 200)
    await call(
      'revoke session',
      '/v1/revocations',
      {
        method: 'POST',
        json: { session: reader.session_id },
      },
      201,
    )
    await call(
      'revoke jti',
      '/v1/revocations',
      {
        method: 'POST',
        json: { jti: jwtPart(carol.access_token, 1)['jti'] },
      },
      201,
    )
    await call(
      'revoke issued_before',
      '/v1/revocations',
      {
        method: 'POST',
        json: { subject: 'alice', issued_before: 'now' },
      },
      201,
    )
    await call('session revoked', '/api/docs/1', { auth: reader.access_token }, 401)

    // Key rotation: tokens of both keys in flight.
    await call('rotate', '/v1/keys/rotate', { method: 'POST' }, 200)
    const rotated = await session('dave')
    await call('rotated me', '/v1/me', { auth: rotated.access_token }, 200)
    await call('jwks', '/.well-known/jwks.json', { auth: null }, 200)
    await call('discovery', '/.well-known/openid-configuration', { auth: null }, 200)
    await call('policy', '/v1/policy', {}, 200)

    // Wrong API keys, garbage and huge tokens, and a token inside a malformed body.
    const near = sent('a near-miss API key', TEST_API_KEY.slice(0, -1) + 'X')
    const wrong = sent('a wrong API key', `wrong-key-${randomBytes(12).toString('hex')}`)
    for (const key of [near, wrong]) {
      await call('bad key', '/v1/policy', { auth: key }, 401)
      await call(
        'bad key sessions',
        '/v1/sessions',
        {
          method: 'POST',
          auth: key,
          json: { sub: 'mallory' },
        },
        401,
      )
    }
    const garbage = sent('a garbage token', `garbage-${randomBytes(12).toString('hex')}`)
    const forged = sent(
      'a forged token',
      `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ sub: 'alice', jti: randomBytes(9).toString('hex') })}.${randomBytes(24).toString('base64url')}`,
    )
    const huge = sent('a huge token', `${b64({ alg: 'EdDSA' })}.${'h'.repeat(12_000)}.sig`)
    for (const token of [garbage, forged, huge]) {
      await call('bad token me', '/v1/me', { auth: token }, 401)
      await call('bad token route', '/api/docs/1', { auth: token }, 401)
      await call('bad token admin', '/v1/policy', { auth: token }, 401)
    }
    await call(
      'garbage decision',
      '/v1/decisions',
      {
        method: 'POST',
        json: { token: garbage, ...query },
      },
      200,
    )
    await call(
      'huge decision',
      '/v1/decisions',
      {
        method: 'POST',
        json: { token: huge, ...query },
      },
      400,
    )
    const spare = await session('erin')
    await call(
      'token in malformed JSON',
      '/v1/token',
      {
        method: 'POST',
        auth: null,
        body: `{"grant_type":"refresh_token","refresh_token":"${spare.refresh_token}"`,
        headers: { 'content-type': 'application/json' },
      },
      400,
    )
    await call(
      'token in wrong field',
      '/v1/sessions',
      {
        method: 'POST',
        json: { sub: 'erin', token: spare.access_token },
      },
      400,
    )
    await call('metrics', '/metrics', { auth: null }, 200)

    privateDs = (await node.enforcer.store.listKeys()).map((k) => k.privateJwk.d ?? '')
    await node.enforcer.audit.flush()
  })
  after(() => node.close())

  const sinks = (): [string, string][] => [
    ['the log', node.logs.text],
    ['the audit log', node.audit.text],
  ]

  it('the scenario produced logs, audit lines and bodies to inspect', () => {
    assert.ok(node.logs.lines.length > 0, 'the logs are not empty')
    assert.match(node.logs.text, /policy loaded/)
    const records = auditRecords(node)
    assert.ok(records.some((r) => r['event'] === 'decision' && r['allow'] === true))
    assert.ok(records.some((r) => r['event'] === 'decision' && r['allow'] === false))
    assert.ok(records.some((r) => r['event'] === 'admin_change' && r['actor'] === 'sub:carol'))
    assert.equal(privateDs.length, 2, 'both signing keys are checked')
    assert.ok(privateDs.every((d) => d.length >= 32))
    // The scanner finds a token where it legitimately is, so an absence below means something.
    for (const secret of secrets.filter((s) => s.origin !== undefined)) {
      assert.ok(bodies[secret.origin!]!.text.includes(secret.value), `${secret.what} is found`)
    }
  })

  it('no access or refresh token, API key or sent credential appears in the logs', () => {
    for (const secret of secrets.flatMap(piecesOf)) {
      for (const [sink, text] of sinks()) {
        assert.ok(!text.includes(secret.value), `${secret.what} appears in ${sink}`)
      }
    }
  })

  it('no private key material appears in the logs, the audit log or any response body', () => {
    const texts = [...sinks(), ...bodies.map((b): [string, string] => [b.label, b.text])]
    for (const [where, text] of texts) {
      assert.doesNotMatch(text, /"d"\s*:/, `a private JWK member in ${where}`)
      for (const d of privateDs) assert.ok(!text.includes(d), `a private key in ${where}`)
    }
  })

  it('no response body carries a token or key except the answer that issued it', () => {
    assert.ok(bodies.length > 50)
    for (const secret of secrets.flatMap(piecesOf)) {
      bodies.forEach((body, i) => {
        if (i === secret.origin) return
        assert.ok(
          !body.text.includes(secret.value),
          `${secret.what} is echoed by "${body.label}" (${body.status})`,
        )
      })
    }
  })
})
