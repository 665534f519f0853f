import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePolicy } from '../../src/policy/compile.js'
import { PolicySchema } from '../../src/policy/schema.js'
import type { Policy } from '../../src/policy/schema.js'
import { fixturePolicy, who } from './fixture.js'

const policy = compilePolicy(
  PolicySchema.parse({
    roles: {
      editor: {
        permissions: [
          { action: 'doc:read', resource: 'doc/*' },
          { action: 'doc:write', resource: 'doc/*' },
        ],
      },
      viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
      billing: { permissions: [{ action: 'invoice:read', resource: 'invoice/*' }] },
    },
    bindings: { kim: ['editor'], 'group:contractors': ['viewer'], 'tenant:acme': ['billing'] },
    rules: [
      {
        id: 'allow-publish-mfa',
        effect: 'allow',
        subjects: ['kim'],
        actions: ['doc:publish', 'doc:archive'],
        resources: ['doc/*'],
        when: { amr: ['mfa'] },
      },
      {
        id: 'allow-hwk-only',
        effect: 'allow',
        subjects: ['kim'],
        actions: ['vault:open'],
        resources: ['vault'],
        when: { amr: ['hwk'] },
      },
      {
        id: 'deny-contractor-internal',
        effect: 'deny',
        subjects: ['group:contractors'],
        actions: ['doc:*'],
        resources: ['doc/internal/*'],
      },
      {
        id: 'deny-other-tenant',
        effect: 'deny',
        subjects: ['tenant:globex'],
        actions: ['*'],
        resources: ['*'],
      },
      {
        id: 'deny-editors-legal',
        effect: 'deny',
        subjects: ['role:editor'],
        actions: ['doc:write'],
        resources: ['doc/legal/*'],
        when: { acr: ['urn:pwd'] },
      },
    ],
  }),
  3,
)

const kim = who('kim', { groups: ['contractors'], tenant: 'acme', amr: ['pwd', 'mfa'] })

test('capabilities list the roles from subject and group bindings, sorted', () => {
  assert.deepEqual(policy.capabilities(kim).roles, ['billing', 'editor', 'viewer'])
  assert.deepEqual(policy.rolesOf(kim), ['billing', 'editor', 'viewer'])
})

test('keys are the subject then its claim-derived groups', () => {
  assert.deepEqual(policy.keysOf(kim), ['kim', 'group:contractors', 'tenant:acme'])
})

test('capabilities allow what the roles grant and what allow rules whose when holds grant', () => {
  assert.deepEqual(policy.capabilities(kim).allow, [
    { action: 'invoice:read', resource: 'invoice/*' },
    { action: 'doc:read', resource: 'doc/*' },
    { action: 'doc:write', resource: 'doc/*' },
    { action: 'doc:publish', resource: 'doc/*' },
    { action: 'doc:archive', resource: 'doc/*' },
  ])
})

test('capabilities deny the patterns of deny rules that apply and whose when holds', () => {
  assert.deepEqual(policy.capabilities(kim).deny, [{ action: 'doc:*', resource: 'doc/internal/*' }])
  const pwd = who('kim', { amr: ['pwd'], acr: 'urn:pwd' })
  assert.deepEqual(policy.capabilities(pwd), {
    roles: ['editor'],
    allow: [
      { action: 'doc:read', resource: 'doc/*' },
      { action: 'doc:write', resource: 'doc/*' },
    ],
    deny: [{ action: 'doc:write', resource: 'doc/legal/*' }],
  })
})

test('capabilities of an unknown subject are empty', () => {
  assert.deepEqual(policy.capabilities(who('stranger')), { roles: [], allow: [], deny: [] })
})

test('a binding to an unknown role grants nothing and is not listed', () => {
  // The schema refuses such a binding; a document built without it must still be safe.
  const raw: Policy = {
    ...PolicySchema.parse({ roles: { viewer: { permissions: [{ action: 'a', resource: 'b' }] } } }),
    bindings: { kim: ['ghost', 'viewer'] },
  }
  const compiled = compilePolicy(raw, 1)
  assert.deepEqual(compiled.capabilities(who('kim')), {
    roles: ['viewer'],
    allow: [{ action: 'a', resource: 'b' }],
    deny: [],
  })
  assert.equal(compiled.decide(who('kim'), 'ghost:anything', 'x').allow, false)
})

test('a revoked principal has no capabilities', () => {
  const fixture = compilePolicy(fixturePolicy(), 1)
  assert.deepEqual(fixture.capabilities(who('mallory')), { roles: [], allow: [], deny: [] })
  assert.deepEqual(fixture.rolesOf(who('mallory')), ['admin'])
})

test('every capability agrees with decide on its own pattern as a resource', () => {
  const p = who('kim', { groups: ['contractors'], tenant: 'acme', amr: ['mfa'] })
  for (const { action, resource } of policy.capabilities(p).allow) {
    assert.equal(policy.decide(p, action, resource).allow, true, `${action} ${resource}`)
  }
  assert.equal(policy.decide(p, 'doc:read', 'doc/internal/x').reason, 'denied_by_rule')
})

test('principals with the same roles and rules share one frozen capabilities object', () => {
  const ann = who('ann', { groups: ['contractors'] })
  const bob = who('bob', { groups: ['contractors'] })
  const shared = policy.capabilities(ann)
  assert.equal(policy.capabilities(bob), shared)
  assert.deepEqual(shared, {
    roles: ['viewer'],
    allow: [{ action: 'doc:read', resource: 'doc/*' }],
    deny: [{ action: 'doc:*', resource: 'doc/internal/*' }],
  })
  assert.ok(
    Object.isFrozen(shared) && Object.isFrozen(shared.allow) && Object.isFrozen(shared.allow[0]),
  )
  assert.notEqual(policy.capabilities(who('cy', { tenant: 'acme' })), shared)
})

test('rules whose when reads claims keep capabilities per principal', () => {
  const mfa = policy.capabilities(who('kim', { amr: ['mfa'] }))
  const pwd = policy.capabilities(who('kim', { amr: ['pwd'] }))
  assert.notEqual(mfa, pwd)
  assert.equal(
    mfa.allow.some((p) => p.action === 'doc:publish'),
    true,
  )
  assert.equal(
    pwd.allow.some((p) => p.action === 'doc:publish'),
    false,
  )
})

test('a new policy version derives its capabilities afresh', () => {
  const ann = who('ann', { groups: ['contractors'] })
  const before = policy.capabilities(ann)
  const next = compilePolicy(
    {
      ...policy.policy,
      roles: {
        ...policy.policy.roles,
        viewer: { permissions: [{ action: 'doc:list', resource: 'doc/*' }] },
      },
    },
    4,
    policy,
  )
  assert.deepEqual(next.capabilities(ann).allow, [{ action: 'doc:list', resource: 'doc/*' }])
  assert.deepEqual(policy.capabilities(ann), before)
})
