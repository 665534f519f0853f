import assert from 'node:assert/strict'
import { test } from 'node:test'
import { applyChange } from '../../src/policy/changes.js'
import { compilePolicy } from '../../src/policy/compile.js'
import type { CompiledPolicy } from '../../src/policy/compile.js'
import type { Principal } from '../../src/policy/principal.js'
import type { PolicyState } from '../../src/policy/state.js'
import type { Change, Policy } from '../../src/policy/schema.js'
import { ERIN_BEFORE, fixturePolicy, who } from './fixture.js'

const NOW = 1_700_000_000_000

const principals: Principal[] = [
  who('alice', { amr: ['mfa'] }, { sid: 's1', jti: 'j1', iat: 5_000 }),
  who('bob', { acr: 'urn:mfa' }, { sid: 's2', jti: 'j2', iat: 5_000 }),
  who('carol', {}, { iat: 5_000 }),
  who('dave', { tenant: 'acme' }, { iat: 5_000 }),
  who('erin', {}, { iat: ERIN_BEFORE }),
  who('frank', { groups: ['contractors'], tenant: 'acme' }, { iat: 5_000 }),
  who('mallory', {}, { iat: 5_000 }),
  who('svc-indexer', { level: 3 }, { iat: 5_000 }),
  who('zed', { groups: ['newcomers'] }, { sid: 'sess-bad', iat: 5_000 }),
]

const requests: [string, string][] = [
  ['doc:read', 'doc/1'],
  ['doc:write', 'doc/1'],
  ['doc:write', 'doc/7/draft'],
  ['doc:read', 'doc/secret/x'],
  ['doc:read', 'doc/internal/x'],
  ['doc:publish', 'doc/1'],
  ['report:q1', 'report/q1/summary'],
  ['ticket:read', 'ticket/1'],
  ['wiki:edit', 'wiki/home'],
  ['queue:push', 'queue/jobs'],
  ['vault:open', 'vault'],
  ['audit:read', 'log/1'],
]

/** Each change is applied to the result of the previous one, in this order. */
const changes: [title: string, change: Change][] = [
  ['subject.roles', { type: 'subject.roles', subject: 'alice', roles: ['editor', 'auditor'] }],
  ['subject.roles removing', { type: 'subject.roles', subject: 'bob', roles: [] }],
  [
    'subject.roles for a group',
    { type: 'subject.roles', subject: 'group:newcomers', roles: ['viewer'] },
  ],
  [
    'role.put of an existing role',
    {
      type: 'role.put',
      role: 'viewer',
      definition: {
        permissions: [
          { action: 'doc:read', resource: 'doc/public/*' },
          { action: 'audit:read', resource: 'log/*' },
        ],
      },
    },
  ],
  [
    'role.put of a new role',
    {
      type: 'role.put',
      role: 'ticketer',
      definition: { permissions: [{ action: 'ticket:*', resource: '*' }] },
    },
  ],
  [
    'subject.roles to the new role',
    { type: 'subject.roles', subject: 'carol', roles: ['ticketer'] },
  ],
  ['role.delete', { type: 'role.delete', role: 'reporter' }],
  [
    'rule.put of a new rule',
    {
      type: 'rule.put',
      rule: {
        id: 'deny-frank-tickets',
        effect: 'deny',
        subjects: ['frank'],
        actions: ['ticket:*'],
        resources: ['*'],
      },
    },
  ],
  [
    'rule.put replacing a rule',
    {
      type: 'rule.put',
      rule: {
        id: 'deny-secret',
        effect: 'deny',
        subjects: ['role:viewer'],
        actions: ['doc:read'],
        resources: ['doc/1'],
      },
    },
  ],
  ['rule.delete', { type: 'rule.delete', id: 'allow-wiki' }],
  [
    'revoke subject',
    { type: 'revoke', target: { kind: 'subject', subject: 'dave' }, reason: 'fired' },
  ],
  ['revoke session', { type: 'revoke', target: { kind: 'session', session: 's1' } }],
  ['revoke token', { type: 'revoke', target: { kind: 'token', jti: 'j2', until: 2_000_000_000 } }],
  [
    'revoke issued_before',
    { type: 'revoke', target: { kind: 'issued_before', subject: 'carol', before: 6_000 } },
  ],
  ['revoke.lift', { type: 'revoke.lift', target: { kind: 'subject', subject: 'mallory' } }],
  ['keys.rotated', { type: 'keys.rotated', kid: 'k2' }],
  ['policy.replace', { type: 'policy.replace', policy: fixturePolicy() }],
]

function snapshot(policy: CompiledPolicy): unknown[] {
  return principals.map((p) => ({
    decisions: requests.map(([action, resource]) => policy.decide(p, action, resource)),
    capabilities: policy.capabilities(p),
    roles: policy.rolesOf(p),
    keys: policy.keysOf(p),
    revocation: policy.revocation(p),
  }))
}

function next(policy: Policy | PolicyState, change: Change): PolicyState {
  const result = applyChange(policy, change, NOW)
  assert.ok(result.ok, result.ok ? '' : result.message)
  return result.policy
}

test('compiling with the previous version decides like a fresh compile after each change type', () => {
  let incremental = compilePolicy(fixturePolicy(), 1)
  for (const [title, change] of changes) {
    const version = incremental.version + 1
    const doc = next(incremental.policy, change)
    const before = snapshot(incremental)
    incremental = compilePolicy(doc, version, incremental)
    const fresh = compilePolicy(doc, version)
    assert.deepEqual(snapshot(incremental), snapshot(fresh), title)
    if (change.type !== 'keys.rotated' && change.type !== 'policy.replace') {
      assert.notDeepEqual(snapshot(incremental), before, `${title} changes some answer`)
    }
  }
})

test('a change takes effect for a principal object already seen by the previous version', () => {
  const v1 = compilePolicy(fixturePolicy(), 1)
  const alice = who('alice')
  assert.equal(v1.decide(alice, 'doc:read', 'doc/1').allow, true)
  const doc = next(v1.policy, { type: 'subject.roles', subject: 'alice', roles: [] })
  const v2 = compilePolicy(doc, 2, v1)
  assert.deepEqual(v2.decide(alice, 'doc:read', 'doc/1'), {
    allow: false,
    reason: 'no_matching_permission',
    version: 2,
  })
  assert.equal(v1.decide(alice, 'doc:read', 'doc/1').allow, true, 'the old version is untouched')
})

test('a revocation or binding change reuses the compiled roles and rules of the previous version', () => {
  type Internals = { roles: unknown; rules: unknown }
  const v1 = compilePolicy(fixturePolicy(), 1)
  const revoked = next(v1.policy, { type: 'revoke', target: { kind: 'subject', subject: 'bob' } })
  const v2 = compilePolicy(revoked, 2, v1)
  const rebound = next(v2.policy, { type: 'subject.roles', subject: 'bob', roles: ['viewer'] })
  const v3 = compilePolicy(rebound, 3, v2)
  for (const [a, b] of [
    [v1, v2],
    [v2, v3],
  ] as const) {
    assert.equal((a as unknown as Internals).roles, (b as unknown as Internals).roles)
    assert.equal((a as unknown as Internals).rules, (b as unknown as Internals).rules)
  }
  const ruled = next(v3.policy, { type: 'rule.delete', id: 'allow-wiki' })
  const v4 = compilePolicy(ruled, 4, v3)
  assert.equal((v3 as unknown as Internals).roles, (v4 as unknown as Internals).roles)
  assert.notEqual((v3 as unknown as Internals).rules, (v4 as unknown as Internals).rules)
})

test('a previous version that is not a compiled policy is ignored', () => {
  const fake = { version: 0, policy: fixturePolicy() } as unknown as CompiledPolicy
  const compiled = compilePolicy(fixturePolicy(), 1, fake)
  assert.equal(compiled.decide(who('alice'), 'doc:read', 'doc/1').reason, 'allowed_by_role')
})
