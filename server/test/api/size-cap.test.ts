import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { POLICY_LIMITS } from '../../src/policy/limits.js'
import { startNode, type TestNode } from '../helpers/enforcer.js'
import { expectError, expectJson } from './helpers.js'

describe('the policy size cap through the API', () => {
  let node: TestNode
  before(async () => {
    node = await startNode()
    // A full roles section, written past the API (its body would exceed 1 MB at larger caps).
    const roles = Object.fromEntries(
      Array.from({ length: POLICY_LIMITS.roles }, (_, i) => [`r${i}`, { permissions: [] }]),
    )
    const r = await node.enforcer.store.apply({ type: 'policy.replace', policy: { roles } })
    assert.ok(r.ok)
  })
  after(() => node.close())

  it('a change beyond a cap is refused with 413 policy_too_large naming the limit', async () => {
    const before = (await node.enforcer.store.load()).version
    const res = await node.api('/v1/policy/changes', {
      method: 'POST',
      json: { type: 'role.put', role: 'one-more', definition: { permissions: [] } },
    })
    const error = await expectError(res, 413, 'policy_too_large')
    assert.equal(error.message, 'the policy document holds at most 10,000 entries in roles')
    assert.deepEqual(error.details, [{ path: 'roles', message: 'at most 10,000 entries' }])
    assert.equal((await node.enforcer.store.load()).version, before, 'nothing was written')
  })

  it('a full section still takes a change to an entry it holds', async () => {
    const res = await node.api('/v1/policy/changes', {
      method: 'POST',
      json: { type: 'role.put', role: 'r1', definition: { permissions: [] } },
    })
    await expectJson(res)
  })
})
