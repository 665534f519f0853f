import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { createSession, expectOAuthError, seedPolicy } from './helpers.js'

/**
 * Issue #13, item 11: `POST /v1/token` answers errors the way RFC 6749 §5.2 says, so a standard
 * OAuth client can parse them — `{"error": "invalid_grant", "error_description": …}` — and every
 * answer, success or not, is sent with `Cache-Control: no-store` and `Pragma: no-cache` (§5.1).
 */

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JSON_TYPE = { 'content-type': 'application/json' }

describe('POST /v1/token (RFC 6749)', () => {
  let node: TestNode
  before(async () => {
    node = await startNode()
    await seedPolicy(node)
  })
  after(() => node.close())

  const post = (body: string, headers: Record<string, string> = FORM): Promise<Response> =>
    node.api('/v1/token', { method: 'POST', auth: null, body, headers })

  it('a refused refresh token is answered 400 invalid_grant with an error_description', async () => {
    const unknown = `grant_type=refresh_token&refresh_token=${'A'.repeat(43)}`
    const body = await expectOAuthError(await post(unknown), 400, 'invalid_grant')
    assert.equal(body['reason'], 'unknown')
    // A spent token, replayed: still invalid_grant, and as JSON too.
    const first = await createSession(node, 'alice')
    const fields = { grant_type: 'refresh_token', refresh_token: first.refresh_token }
    const rotated = await post(JSON.stringify(fields), JSON_TYPE)
    assert.equal(rotated.status, 200)
    const replay = await post(JSON.stringify(fields), JSON_TYPE)
    assert.equal((await expectOAuthError(replay, 400, 'invalid_grant'))['reason'], 'reused')
  })

  it('a grant type other than refresh_token is answered unsupported_grant_type', async () => {
    for (const grant of ['password', 'client_credentials', 'authorization_code', 'REFRESH_TOKEN']) {
      const res = await post(`grant_type=${grant}&refresh_token=abc`)
      await expectOAuthError(res, 400, 'unsupported_grant_type')
    }
    const json = await post(
      JSON.stringify({ grant_type: 'password', refresh_token: 'x' }),
      JSON_TYPE,
    )
    await expectOAuthError(json, 400, 'unsupported_grant_type')
  })

  it('a malformed request is answered invalid_request', async () => {
    const cases: [string, string, Record<string, string>?][] = [
      ['no grant_type', 'refresh_token=abc'],
      ['no refresh_token', 'grant_type=refresh_token'],
      // §3.2: a parameter sent without a value is treated as omitted.
      ['an empty refresh_token', 'grant_type=refresh_token&refresh_token='],
      ['an empty grant_type', 'grant_type=&refresh_token=abc'],
      // §3.2: parameters must not be included more than once.
      ['a repeated parameter', 'grant_type=refresh_token&refresh_token=a&refresh_token=b'],
      ['a repeated grant_type', 'grant_type=refresh_token&grant_type=password&refresh_token=a'],
      [
        'a refresh_token over 512 characters',
        `grant_type=refresh_token&refresh_token=${'a'.repeat(600)}`,
      ],
      ['a number as grant_type', '{"grant_type":42,"refresh_token":"a"}', JSON_TYPE],
      ['an array body', '[{"grant_type":"refresh_token"}]', JSON_TYPE],
      ['a null body', 'null', JSON_TYPE],
      ['malformed JSON', '{"grant_type":', JSON_TYPE],
      ['a text/plain body', 'grant_type=refresh_token', { 'content-type': 'text/plain' }],
      ['no content type', 'grant_type=refresh_token', {}],
      [
        'a body in latin1',
        'grant_type=refresh_token',
        { 'content-type': `${FORM['content-type']}; charset=latin1` },
      ],
    ]
    for (const [what, body, headers] of cases) {
      const res = await post(body, headers ?? FORM)
      await expectOAuthError(res, 400, 'invalid_request').catch((err: Error) => {
        throw new Error(`${what}: ${err.message}`)
      })
    }
  })

  it('a body over the form limit is answered 413 invalid_request', async () => {
    const res = await post(`grant_type=refresh_token&refresh_token=${'a'.repeat(20_000)}`)
    const body = await expectOAuthError(res, 413, 'invalid_request')
    assert.match(body['error_description'] as string, /16384 bytes/)
  })

  it('parameters it does not know are ignored (RFC 6749 §3.2)', async () => {
    const session = await createSession(node, 'alice')
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: session.refresh_token,
      client_id: 'spa',
      scope: 'openid',
      resource: 'https://api.example',
    })
    const res = await post(form.toString())
    assert.equal(res.status, 200, await res.clone().text())
    assert.equal(res.headers.get('cache-control'), 'no-store')
    assert.equal(res.headers.get('pragma'), 'no-cache')
    const pair = (await res.json()) as { access_token: string; token_type: string }
    assert.equal(pair.token_type, 'Bearer')
    assert.equal(typeof pair.access_token, 'string')
  })
})
