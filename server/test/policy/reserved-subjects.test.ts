import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy } from '../../src/policy/compile.js'
import { isSubjectKey } from '../../src/policy/principal-view.js'
import { fixturePolicy, who } from './fixture.js'

// Subjects share the binding namespace with groups and roles. A token whose subject is a group or
// role key — one a trusted external issuer could mint — must not inherit that key's grants.
const policy = compilePolicy(fixturePolicy(), 1)

test('a subject named like a group gets none of the group’s roles or rules', () => {
  const impostor = who('group:contractors')
  assert.deepEqual(policy.keysOf(impostor), [])
  assert.deepEqual(policy.rolesOf(impostor), [])
  assert.equal(policy.decide(impostor, 'doc:read', 'doc/1').reason, 'no_matching_permission')
  assert.equal(policy.decide(impostor, 'ticket:read', 'ticket/1').reason, 'no_matching_permission')
  // The real member, by claim, still has them.
  const member = who('kim', { groups: ['contractors'] })
  assert.equal(policy.decide(member, 'doc:read', 'doc/1').reason, 'allowed_by_role')
})

test('a subject named like a tenant or a role is no key either', () => {
  assert.equal(policy.decide(who('tenant:acme'), 'report:view', 'report/q1/summary').allow, false)
  const asRole = who('role:editor', { acr: 'urn:mfa' })
  assert.deepEqual(policy.keysOf(asRole), [])
  assert.equal(policy.decide(asRole, 'doc:publish', 'doc/1').allow, false)
  assert.deepEqual(policy.keysOf(who('*')), [])
})

test('the prefixes come from the policy’s group claims', () => {
  const custom = compilePolicy({ ...fixturePolicy(), groupClaims: { teams: 'team' } }, 2)
  assert.deepEqual(custom.keysOf(who('team:ops')), [])
  // `group:` is an ordinary name once no claim maps to it.
  assert.deepEqual(custom.keysOf(who('group:contractors')), ['group:contractors'])
  assert.equal(isSubjectKey('team:ops', { groupClaims: { teams: 'team' } }), false)
})

test('other subjects with a colon are ordinary subjects', () => {
  for (const sub of ['google:1234', 'auth0|42', 'mailto:a@b.c', ':leading']) {
    assert.deepEqual(policy.keysOf(who(sub)), [sub], sub)
  }
})

test('a revocation of such a subject still applies', () => {
  const doc = fixturePolicy()
  const revoked = compilePolicy(
    {
      ...doc,
      revocations: {
        ...doc.revocations,
        subjects: { ...doc.revocations.subjects, 'group:contractors': { reason: 'abuse', at: 1 } },
      },
    },
    3,
  )
  assert.equal(
    revoked.decide(who('group:contractors'), 'doc:read', 'doc/1').reason,
    'subject_revoked',
  )
})
