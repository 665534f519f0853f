/**
 * An HTTP body fuzzer over every API route that reads a body: random JSON, route-shaped bodies
 * with one field mutated, huge strings, deep nesting, prototype keys, unicode controls, malformed
 * JSON text and wrong content types. Whatever arrives, a route answers without a 500, every 4xx
 * is `{error: {code}}` with a known code, and no response carries a stack trace, a file path or a
 * credential. The seed is fixed; set VIGIL_FUZZ_SEED to replay another run.
 */

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { STATUS } from '../../src/http/errors.js'
import { SEED_POLICY, TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'
import { mint } from '../realtime/helpers.js'

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 13)
const PER_ROUTE = 40
console.log(`body-fuzz: VIGIL_FUZZ_SEED=${SEED}`)

const KNOWN_CODES = new Set(Object.keys(STATUS))
// RFC 6749 §5.2 codes the token endpoint may answer with instead of Vigil's own shape.
const OAUTH_CODES = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
])

interface Route {
  method: string
  path: string
  /** A body the route accepts, or nearly: the fuzzer mutates one field of it at a time. */
  shape: Record<string, unknown>
  form?: boolean
}

let node: TestNode
let credentials: string[]
let routes: Route[]

before(async () => {
  node = await startNode()
  const put = await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })
  assert.equal(put.status, 200)
  const pair = await mint(node, 'alice')
  credentials = [TEST_API_KEY, pair.access_token, pair.refresh_token]
  const decision = { action: 'doc:read', resource: 'doc/1' }
  routes = [
    { method: 'POST', path: '/v1/sessions', shape: { sub: 'fuzz', claims: { tier: 'x' } } },
    {
      method: 'POST',
      path: '/v1/token',
      shape: { grant_type: 'refresh_token', refresh_token: pair.access_token },
    },
    {
      method: 'POST',
      path: '/v1/token',
      form: true,
      shape: { grant_type: 'refresh_token', refresh_token: pair.access_token },
    },
    { method: 'PUT', path: '/v1/policy', shape: SEED_POLICY },
    {
      method: 'POST',
      path: '/v1/policy/changes',
      shape: { type: 'role.put', role: 'fuzz', definition: { permissions: [decision] } },
    },
    { method: 'PUT', path: '/v1/subjects/fuzz/roles', shape: { roles: ['viewer'] } },
    { method: 'PUT', path: '/v1/subjects/%00%E2%80%8B/roles', shape: { roles: ['viewer'] } },
    { method: 'POST', path: '/v1/revocations', shape: { kind: 'subject', subject: 'fuzz' } },
    { method: 'DELETE', path: '/v1/revocations', shape: { kind: 'session', session: 's1' } },
    { method: 'POST', path: '/v1/decisions', shape: { token: pair.access_token, ...decision } },
    { method: 'POST', path: '/v1/decisions', shape: { subject: 'alice', ...decision } },
  ]
})

after(async () => {
  await node.close()
})

/** Values that have broken parsers and validators before. */
const nasty = fc.oneof(
  fc.anything(),
  fc.constantFrom(
    '',
    '\u0000',
    '\u001b[31m',
    '\u200b',
    '\ud800',
    '__proto__',
    'constructor',
    'toString',
    '*',
    -1,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    null,
    [],
    {},
    'x'.repeat(70_000),
  ),
  fc.string({ unit: 'binary', maxLength: 64 }),
)

/** Deeply nested arrays or objects as JSON text, past any sane recursion limit. */
const deep = fc
  .record({ depth: fc.integer({ min: 100, max: 20_000 }), object: fc.boolean() })
  .map(({ depth, object }) =>
    object
      ? '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
      : '['.repeat(depth) + ']'.repeat(depth),
  )

const prototypeKeys = fc.constantFrom(
  '{"__proto__":{"admin":true},"sub":"fuzz"}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '{"roles":{"__proto__":["admin"]}}',
  '{"kind":"subject","subject":"__proto__"}',
  '{"type":"rule.put","rule":{"id":"r","effect":"allow","subjects":["*"],"actions":["*"],"resources":["*"],"when":{"__proto__":["x"]}}}',
)

const malformed = fc.constantFrom(
  '',
  '{',
  '{"sub":',
  '{"sub":"a"}}',
  "{'sub':'a'}",
  'null',
  '"str"',
  '1',
  'NaN',
  '{"a":1,}',
  '\ufeff{"sub":"a"}',
  '{"sub":"\\ud800"}',
  '\u0000',
)

/** One request body: the JSON text (or form text) and the content type it claims. */
interface Body {
  text: string
  type: string | null
}

function bodies(route: Route): fc.Arbitrary<Body> {
  const json = (text: string): Body => ({ text, type: 'application/json' })
  const mutated = fc
    .record({ key: fc.constantFrom(...Object.keys(route.shape), 'extra'), value: nasty })
    .map(({ key, value }) => JSON.stringify({ ...route.shape, [key]: value }) ?? 'null')
  const types = fc.constantFrom(
    null,
    'text/plain',
    'application/json; charset=utf-16',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/json; charset="utf-8"',
  )
  const options: fc.Arbitrary<Body>[] = [
    mutated.map(json),
    fc.json().map(json),
    fc
      .anything()
      .map((v) => JSON.stringify(v) ?? 'null')
      .map(json),
    deep.map(json),
    prototypeKeys.map(json),
    malformed.map(json),
    fc.constant(json(JSON.stringify({ ...route.shape, pad: 'x'.repeat(1_100_000) }))),
    fc.record({ text: mutated, type: types }),
  ]
  if (route.form) {
    const form = fc
      .dictionary(
        fc.constantFrom('grant_type', 'refresh_token', 'scope', '__proto__', 'a[b]'),
        fc.string(),
      )
      .map((fields) => new URLSearchParams(fields).toString())
    options.push(
      form.map((text) => ({ text, type: 'application/x-www-form-urlencoded' })),
      fc.constant({ text: 'a=' + 'x'.repeat(20_000), type: 'application/x-www-form-urlencoded' }),
      fc.constant({ text: '%zz=%', type: 'application/x-www-form-urlencoded' }),
    )
  }
  return fc.oneof(...options)
}

/** Stack frames or source paths: what an unhandled error page would show. */
const LEAKS = [/\n\s+at /, /\bat [\w.<>]+ \(/, /\/work\//, /node_modules/, /\.[cm]?[jt]s:\d+/]

const statuses = new Map<number, number>()

async function send(route: Route, body: Body): Promise<void> {
  const headers = new Headers()
  if (body.type !== null) headers.set('content-type', body.type)
  const res = await node.api(route.path, {
    method: route.method,
    headers,
    body: new TextEncoder().encode(body.text),
  })
  const text = await res.text()
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
  const context = `${route.method} ${route.path} ${body.type} ${body.text.slice(0, 200)} -> ${res.status} ${text.slice(0, 300)}`
  assert.ok(res.status < 500, context)
  for (const leak of LEAKS) assert.doesNotMatch(text, leak, context)
  for (const credential of credentials) {
    // A 2xx may echo what the caller sent (a subject that happens to look like a token); nothing
    // else may ever carry one.
    if (res.status < 300 && body.text.includes(credential)) continue
    assert.ok(!text.includes(credential), `a credential in the response: ${context}`)
  }
  if (res.status >= 400) {
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/, context)
    const error = JSON.parse(text).error
    const code = typeof error === 'string' ? error : error?.code
    const known = typeof error === 'string' ? OAUTH_CODES.has(code) : KNOWN_CODES.has(code)
    assert.ok(known, `an unknown error code: ${context}`)
  }
}

test('every API route answers random and mutated bodies without a 500, a stack or a credential', async () => {
  for (const [i, route] of routes.entries()) {
    const samples = fc.sample(bodies(route), { seed: SEED + i, numRuns: PER_ROUTE })
    for (const body of samples) await send(route, body)
  }
  console.log(`body-fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`)
})

test('the node still applies a policy and decides correctly after the fuzzing', async () => {
  // The fuzzer may have replaced the policy or revoked subjects; put the seed back first.
  assert.equal((await node.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })).status, 200)
  const lift = await node.api('/v1/revocations', {
    method: 'DELETE',
    json: { kind: 'subject', subject: 'carol' },
  })
  assert.ok(lift.status < 500)
  const res = await node.api('/v1/decisions', {
    method: 'POST',
    json: { subject: 'carol', action: 'doc:read', resource: 'doc/1' },
  })
  assert.equal(res.status, 200)
  assert.equal((await res.json()).allow, true)
})
