import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PolicyUpdate } from '../../src/live-policy.js'
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js'
import type { Principal } from '../../src/policy/principal.js'
import { PolicySchema } from '../../src/policy/schema.js'
import { reevaluate } from '../../src/sessions/reevaluate.js'
import { createSessionRegistry, type LiveEntry } from '../../src/sessions/registry.js'

function compiled(teamWrites: boolean, revoked: string[], version: number): CompiledPolicy {
  const team = [{ action: 'doc:read', resource: 'team/*' }]
  if (teamWrites) team.push({ action: 'doc:write', resource: 'team/*' })
  return compilePolicy(
    PolicySchema.parse({
      roles: {
        editor: { permissions: [{ action: 'doc:write', resource: 'doc/*' }] },
        team: { permissions: team },
      },
      bindings: { u1: ['editor', 'team'], u2: ['editor', 'team'], u3: ['editor'], u4: ['team'] },
      revocations: {
        subjects: Object.fromEntries(revoked.map((s) => [s, { reason: 'left the team', at: 1 }])),
      },
    }),
    version,
  )
}

function connect(policy: CompiledPolicy, sub: string, tab = 1): LiveEntry {
  const p: Principal = { sub, sid: `sid-${sub}`, jti: `jti-${sub}`, claims: {} }
  return {
    id: `${sub}#${tab}`,
    principal: p,
    keys: policy.keysOf(p),
    roles: policy.rolesOf(p),
    capabilities: policy.capabilities(p),
    connectedAt: 0,
  }
}

test('connections told the same thing form one group sharing one event object', () => {
  const before = compiled(true, [], 1)
  const after = compiled(false, ['u4'], 2)
  const registry = createSessionRegistry()
  const entries = [
    connect(before, 'u1', 1),
    connect(before, 'u1', 2),
    connect(before, 'u2'),
    connect(before, 'u3'),
    connect(before, 'u4'),
  ]
  for (const e of entries) registry.add(e)
  const update: PolicyUpdate = { before, after, affected: { all: true }, at: 1234 }

  const consequences = reevaluate(update, registry)
  const groups = consequences.map((c) => ({ kind: c.kind, ids: c.entries.map((e) => e.id) }))
  assert.deepEqual(groups, [
    { kind: 'step-down', ids: ['u1#1', 'u1#2', 'u2#1'] },
    { kind: 'revoked', ids: ['u4#1'] },
  ])
  const [step, revoked] = consequences
  assert.equal(step?.kind, 'step-down')
  if (step?.kind === 'step-down') {
    assert.deepEqual(step.event.removed, [{ action: 'doc:write', resource: 'team/*' }])
    assert.equal(step.event.version, 2)
    assert.equal(step.event.at, 1234)
    // What each client is now told is what its entry holds, for the next diff.
    for (const e of step.entries) assert.equal(e.capabilities, step.event.capabilities)
  }
  assert.deepEqual(revoked?.event, { reason: 'left the team', version: 2, at: 1234 })

  // u3 (editor only) was re-decided and told nothing. A second pass steps no one down again: only
  // the revoked socket, until it has disconnected, is named once more.
  const again = reevaluate({ ...update, before: after }, registry)
  assert.deepEqual(
    again.map((c) => c.kind),
    ['revoked'],
  )
})
