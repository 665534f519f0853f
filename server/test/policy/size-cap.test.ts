import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { applyChange } from '../../src/policy/changes.js'
import { POLICY_LIMITS } from '../../src/policy/limits.js'
import { emptyPolicy, type Change, type Policy } from '../../src/policy/schema.js'

const AT = Date.UTC(2030, 0, 1)

function withSessions(count: number): Policy {
  const sessions: Policy['revocations']['sessions'] = {}
  for (let i = 0; i < count; i++) sessions[`s${i}`] = { reason: 'revoked', at: AT }
  const policy = emptyPolicy()
  return { ...policy, revocations: { ...policy.revocations, sessions } }
}

function withRoles(count: number): Policy {
  const roles: Policy['roles'] = {}
  for (let i = 0; i < count; i++) roles[`r${i}`] = { permissions: [] }
  return { ...emptyPolicy(), roles }
}

const putRole = (role: string): Change => ({
  type: 'role.put',
  role,
  definition: { permissions: [] },
})

describe('policy size cap', () => {
  test('a revocation beyond the sessions cap is refused with policy_too_large naming the limit', () => {
    const full = withSessions(POLICY_LIMITS['revocations.sessions'])
    const r = applyChange(full, { type: 'revoke', target: { kind: 'session', session: 'x' } }, AT)
    assert.ok(!r.ok)
    assert.equal(r.code, 'policy_too_large')
    assert.match(r.message, /at most 1,000,000 entries in revocations\.sessions/)
    assert.deepEqual(r.issues, [
      { path: 'revocations.sessions', message: 'at most 1,000,000 entries' },
    ])
  })

  test('a full section still takes overwrites, and new entries again once one is removed', () => {
    const full = withRoles(POLICY_LIMITS.roles)
    const over = applyChange(full, putRole('one-more'), AT)
    assert.equal(over.ok ? null : over.code, 'policy_too_large')
    assert.ok(!over.ok && /in roles$/.test(over.message))
    assert.ok(applyChange(full, putRole('r1'), AT).ok, 'overwriting does not grow the section')

    const removed = applyChange(full, { type: 'role.delete', role: 'r0' }, AT)
    assert.ok(removed.ok)
    const added = applyChange(removed.policy, putRole('new'), AT)
    assert.ok(added.ok)
    const again = applyChange(added.policy, putRole('and-another'), AT)
    assert.equal(again.ok ? null : again.code, 'policy_too_large')
  })

  test('a replaced document is checked whole, and bindings far from their cap are accepted', () => {
    const roles = withRoles(POLICY_LIMITS.roles + 1).roles
    const replaced = applyChange(emptyPolicy(), { type: 'policy.replace', policy: { roles } }, AT)
    assert.equal(replaced.ok ? null : replaced.code, 'policy_too_large')
    const bound = applyChange(
      withRoles(10),
      { type: 'subject.roles', subject: 'alice', roles: ['r1'] },
      AT,
    )
    assert.ok(bound.ok)
  })
})
