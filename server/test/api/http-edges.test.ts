import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { expectError, expectInvalid, seedPolicy } from './helpers.js'

let node: TestNode
before(async () => {
  node = await startNode()
  await seedPolicy(node)
})
after(() => node.close())

test('a JSON body in a charset other than UTF-8 is refused with 415', async () => {
  const res = await node.api('/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-7' },
    body: '{"sub":"alice"}',
  })
  await expectError(res, 415, 'unsupported_media_type')
  const ok = await node.api('/v1/sessions', {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: '{"sub":"alice"}',
  })
  assert.equal(ok.status, 201)
})

test('If-Match: * replaces the policy whatever its current version', async () => {
  const current = (await (await node.api('/v1/policy')).json()) as {
    version: number
    policy: unknown
  }
  const res = await node.api('/v1/policy', {
    method: 'PUT',
    json: current.policy,
    headers: { 'if-match': '*' },
  })
  assert.equal(res.status, 200)
  assert.equal(((await res.json()) as { version: number }).version, current.version + 1)
})

test('a subject that looks like a group or role key cannot get a session', async () => {
  for (const sub of ['group:admins', 'role:admin', 'tenant:acme']) {
    const res = await node.api('/v1/sessions', { method: 'POST', json: { sub } })
    await expectInvalid(res, 'invalid_request', 'sub')
  }
})

test('names that alias Object.prototype members are refused as roles and subjects', async () => {
  const res = await node.api('/v1/subjects/alice/roles', {
    method: 'PUT',
    json: { roles: ['toString'] },
  })
  await expectInvalid(res, 'invalid_request', 'roles.0')
  const proto = await node.api('/v1/subjects/__proto__/roles', {
    method: 'PUT',
    json: { roles: [] },
  })
  await expectInvalid(proto, 'invalid_request', 'sub')
})
