import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { affectedBy } from '../../src/policy/affected.js'
import { applyChange } from '../../src/policy/changes.js'
import { toPolicy, toState } from '../../src/policy/state.js'
import { compilePolicy } from '../../src/policy/compile.js'
import { emptyPolicy, type Change, type Policy } from '../../src/policy/schema.js'

const T0 = Date.UTC(2030, 0, 1)
const s = (ms: number): number => Math.floor(ms / 1000)

function apply(policy: Policy, change: Change, at = T0): Policy {
  const r = applyChange(policy, change, at)
  assert.ok(r.ok, JSON.stringify(r))
  return toPolicy(r.policy)
}

const revokeSession = (session: string, until?: number): Change => ({
  type: 'revoke',
  target: until === undefined ? { kind: 'session', session } : { kind: 'session', session, until },
})
const prune = (sessions: string[], tokens: string[] = []): Change => ({
  type: 'revoke.prune',
  sessions,
  tokens,
})

describe('revocation pruning in the policy', () => {
  test('a session revocation is pruned once its until has passed, and not a second before', () => {
    const until = s(T0) + 100
    const policy = apply(emptyPolicy(), revokeSession('s1', until))
    assert.equal(policy.revocations.sessions['s1']?.until, until)
    const early = applyChange(policy, prune(['s1']), (until + 1) * 1000 - 1)
    assert.deepEqual(early.ok ? null : early.code, 'not_found', 'still within until')
    const later = apply(policy, prune(['s1']), (until + 1) * 1000)
    assert.equal(Object.hasOwn(later.revocations.sessions, 's1'), false)
  })

  test('until the prune lands, a session whose until has passed is still denied', () => {
    const until = s(T0) + 100
    const policy = apply(emptyPolicy(), revokeSession('s1', until))
    const compiled = compilePolicy(policy, 1)
    const principal = { sub: 'alice', sid: 's1', claims: {} }
    assert.equal(compiled.decide(principal, 'doc:read', 'doc/1').reason, 'session_revoked')
  })

  test('a prune never lifts a revocation kept forever, one revoked again for longer, or a subject', () => {
    let policy = apply(emptyPolicy(), revokeSession('forever'))
    policy = apply(policy, revokeSession('again', s(T0) + 10))
    policy = apply(policy, revokeSession('again', s(T0) + 10_000))
    policy = apply(policy, revokeSession('gone', s(T0) + 10))
    policy = apply(policy, { type: 'revoke', target: { kind: 'subject', subject: 'forever' } })
    const pruned = apply(policy, prune(['forever', 'again', 'gone', 'absent']), T0 + 60_000)
    assert.deepEqual(Object.keys(pruned.revocations.sessions).sort(), ['again', 'forever'])
    assert.ok(Object.hasOwn(pruned.revocations.subjects, 'forever'))
  })

  test('revoking a session again keeps the later until, and no until beats any', () => {
    let policy = apply(emptyPolicy(), revokeSession('s1', s(T0) + 500))
    policy = apply(policy, revokeSession('s1', s(T0) + 100))
    assert.equal(policy.revocations.sessions['s1']?.until, s(T0) + 500)
    policy = apply(policy, revokeSession('s1'))
    assert.equal(policy.revocations.sessions['s1']?.until, undefined)
    policy = apply(policy, revokeSession('s1', s(T0) + 900))
    assert.equal(policy.revocations.sessions['s1']?.until, undefined)
  })

  test('token revocations past their until are pruned by the same change, not by a scan', () => {
    let policy = apply(emptyPolicy(), {
      type: 'revoke',
      target: { kind: 'token', jti: 'j1', until: s(T0) + 5 },
    })
    // Writing another token revocation later leaves the expired one for the pruner.
    policy = apply(policy, { type: 'revoke', target: { kind: 'token', jti: 'j2' } }, T0 + 3600_000)
    assert.ok(Object.hasOwn(policy.revocations.tokens, 'j1'))
    policy = apply(policy, prune([], ['j1', 'j2']), T0 + 3600_000)
    assert.deepEqual(Object.keys(policy.revocations.tokens), ['j2'])
  })

  test('a prune that finds nothing due is refused as not_found, so it costs no version', () => {
    const r = applyChange(emptyPolicy(), prune(['nope'], ['nope']), T0)
    assert.deepEqual(r.ok ? null : r.code, 'not_found')
  })

  test('a prune affects no live session and leaves untouched sections as they were', () => {
    const policy = apply(emptyPolicy(), revokeSession('s1', s(T0)))
    assert.deepEqual(affectedBy(prune(['s1']), policy), {
      all: false,
      principals: [],
      roles: [],
      sessions: [],
      jtis: [],
    })
    const before = toState(policy)
    const r = applyChange(before, prune(['s1']), T0 + 5_000)
    assert.ok(r.ok)
    assert.equal(r.policy.revocations.subjects, before.revocations.subjects)
    assert.equal(r.policy.bindings, before.bindings)
    assert.deepEqual([...r.touched.entries], [['sessions', new Set(['s1'])]])
  })
})
