import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy } from '../../src/policy/compile.js'
import type { Principal } from '../../src/policy/principal.js'
import { emptyPolicy } from '../../src/policy/schema.js'
import { VERSION, byRole, nothing, revoked, runCases } from './decision-cases.js'
import type { Case } from './decision-cases.js'
import { ERIN_BEFORE, fixturePolicy, who } from './fixture.js'

const cases: Case[] = [
  // revocations
  {
    title: 'a revoked subject is denied an action its role allows',
    principal: who('mallory'),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('subject_revoked'),
  },
  {
    title: 'a revoked session is denied',
    principal: who('alice', {}, { sid: 'sess-bad' }),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('session_revoked'),
  },
  {
    title: 'a revoked token is denied',
    principal: who('alice', {}, { jti: 'jti-bad' }),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('token_revoked'),
  },
  {
    title: 'a subject revocation is reported before a session revocation',
    principal: who('mallory', {}, { sid: 'sess-bad', jti: 'jti-bad' }),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('subject_revoked'),
  },
  {
    title: 'a session revocation is reported before a token revocation',
    principal: who('alice', {}, { sid: 'sess-bad', jti: 'jti-bad' }),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('session_revoked'),
  },
  {
    title: 'a token issued one second before the boundary is revoked',
    principal: who('erin', {}, { iat: ERIN_BEFORE - 1 }),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('issued_before'),
  },
  {
    title: 'a token issued exactly at the boundary is allowed',
    principal: who('erin', {}, { iat: ERIN_BEFORE }),
    action: 'doc:read',
    resource: 'doc/1',
    ...byRole('viewer'),
  },
  {
    title: 'a token without iat counts as issued before the boundary',
    principal: who('erin'),
    action: 'doc:read',
    resource: 'doc/1',
    ...revoked('issued_before'),
  },
  {
    title: 'an issued-before boundary of one subject does not touch another',
    principal: who('alice', {}, { iat: 1 }),
    action: 'doc:read',
    resource: 'doc/1',
    ...byRole('viewer'),
  },
  // default deny and bad input
  {
    title: 'an unknown subject is denied by default',
    principal: who('nobody'),
    action: 'doc:read',
    resource: 'doc/1',
    ...nothing,
  },
  {
    title: 'an empty action and resource are denied',
    principal: who('alice'),
    action: '',
    resource: '',
    ...nothing,
  },
  {
    title: 'a huge resource string is decided',
    principal: who('alice'),
    action: 'doc:read',
    resource: `doc/${'x'.repeat(1_000_000)}`,
    ...byRole('viewer'),
  },
  {
    title: 'a regex-looking action is not interpreted',
    principal: who('alice'),
    action: '.*',
    resource: 'doc/1',
    ...nothing,
  },
  {
    title: 'a subject named like an object key is just a subject',
    principal: who('constructor', { groups: ['__proto__'] }),
    action: 'doc:read',
    resource: 'doc/1',
    ...nothing,
  },
]

runCases(cases)

const policy = compilePolicy(fixturePolicy(), VERSION)

test('an empty policy denies everything', () => {
  const empty = compilePolicy(emptyPolicy(), 1)
  for (const [action, resource] of [
    ['doc:read', 'doc/1'],
    ['*', '*'],
    ['', ''],
  ] as const) {
    assert.deepEqual(empty.decide(who('root'), action, resource), {
      allow: false,
      reason: 'no_matching_permission',
      version: 1,
    })
  }
})

test('a malformed principal or non-string input is denied, not thrown on', () => {
  const weird = [
    null,
    undefined,
    42,
    { sub: 5, claims: null },
    { sub: 'alice' },
    { sub: 'alice', claims: { groups: 'x'.repeat(100_000), amr: 'mfa' }, iat: Number.NaN },
  ] as unknown as Principal[]
  for (const p of weird) {
    assert.equal(policy.decide(p, 'doc:publish', 'doc/1').allow, false)
    assert.doesNotThrow(() => {
      policy.capabilities(p)
      policy.rolesOf(p)
      policy.keysOf(p)
      policy.revocation(p)
    })
  }
  const bad = policy.decide(who('alice'), 42 as unknown as string, null as unknown as string)
  assert.deepEqual(bad, { allow: false, reason: 'no_matching_permission', version: VERSION })
})

test('a principal missing its claims still gets its subject bindings', () => {
  const p = { sub: 'alice' } as unknown as Principal
  assert.deepEqual(policy.decide(p, 'doc:read', 'doc/1'), {
    allow: true,
    reason: 'allowed_by_role',
    rule: 'role:viewer',
    version: VERSION,
  })
})

test('revocation returns the stored reason text of the revocation that applies', () => {
  assert.deepEqual(policy.revocation(who('mallory')), {
    reason: 'subject_revoked',
    detail: 'compromised',
  })
  assert.deepEqual(policy.revocation(who('alice', {}, { sid: 'sess-bad' })), {
    reason: 'session_revoked',
    detail: 'logged out',
  })
  assert.deepEqual(policy.revocation(who('bob', {}, { jti: 'jti-bad' })), {
    reason: 'token_revoked',
    detail: 'leaked',
  })
  assert.deepEqual(policy.revocation(who('erin', {}, { iat: 3 })), {
    reason: 'issued_before',
    detail: 'password changed',
  })
  assert.equal(policy.revocation(who('erin', {}, { iat: ERIN_BEFORE })), null)
  assert.equal(policy.revocation(who('alice')), null)
})

test('the same principal object gets the same answer on repeated decisions', () => {
  const p = who('frank', { groups: ['contractors'] })
  const first = policy.decide(p, 'doc:read', 'doc/1')
  for (let i = 0; i < 3; i++) assert.deepEqual(policy.decide(p, 'doc:read', 'doc/1'), first)
})
