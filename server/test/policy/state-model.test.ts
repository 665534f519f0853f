/**
 * Property-based tests of the persistent policy state against a plain reference model: random
 * sequences of changes, batches included, applied to `PolicyState` (persistent maps, touched
 * entries) and to plain JSON objects by the short model below must give the same document, the
 * same decisions and the same capabilities; and the store patch built from the touched entries
 * must rebuild, on a copy that only ever sees patches, the very same document. Small alphabets
 * make changes collide. The seed is fixed; set VIGIL_FUZZ_SEED to replay another run.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { applyChange } from '../../src/policy/changes.js'
import { compilePolicy } from '../../src/policy/compile.js'
import type { Principal } from '../../src/policy/principal.js'
import {
  emptyPolicy,
  PolicySchema,
  type BatchableChange,
  type Change,
  type Policy,
} from '../../src/policy/schema.js'
import { toPolicy, toState, type PolicyState } from '../../src/policy/state.js'
import { encodePatch } from '../../src/store/redis-document.js'
import { decodeState } from '../../src/store/state-decoder.js'
import { DOC_KEY_ORDER } from '../../src/store/redis-keys.js'

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 13)
const PARAMS = { seed: SEED, numRuns: 150 }
console.log(`state-model: VIGIL_FUZZ_SEED=${SEED}`)

const SUBS = ['alice', 'bob', 'carol', 'group:eng']
const ROLES = ['r0', 'r1', 'r2']
const SIDS = ['s1', 's2', 's3']
const JTIS = ['j1', 'j2']
const ACTIONS = ['doc:read', 'doc:write', 'doc:*']
const RESOURCES = ['doc/1', 'doc/2', 'doc/*']
const NOW = Date.UTC(2030, 0, 1)
const NOW_S = Math.floor(NOW / 1000)

const target = fc.oneof(
  fc.constantFrom(...SUBS).map((subject) => ({ kind: 'subject' as const, subject })),
  fc
    .record({
      session: fc.constantFrom(...SIDS),
      until: fc.option(fc.integer({ min: NOW_S - 5, max: NOW_S + 5 }), { nil: undefined }),
    })
    .map(({ session, until }) =>
      until === undefined
        ? { kind: 'session' as const, session }
        : { kind: 'session' as const, session, until },
    ),
  fc
    .record({
      jti: fc.constantFrom(...JTIS),
      until: fc.option(fc.integer({ min: NOW_S - 5, max: NOW_S + 5 }), { nil: undefined }),
    })
    .map(({ jti, until }) =>
      until === undefined
        ? { kind: 'token' as const, jti }
        : { kind: 'token' as const, jti, until },
    ),
  fc
    .record({ subject: fc.constantFrom(...SUBS), before: fc.integer({ min: 0, max: 4 }) })
    .map((t) => ({ kind: 'issued_before' as const, ...t })),
)

const permission = fc.record({
  action: fc.constantFrom(...ACTIONS),
  resource: fc.constantFrom(...RESOURCES),
})

const single: fc.Arbitrary<BatchableChange> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('subject.roles' as const),
      subject: fc.constantFrom(...SUBS),
      roles: fc.array(fc.constantFrom(...ROLES, 'ghost'), { maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('role.put' as const),
      role: fc.constantFrom(...ROLES),
      definition: fc.record({ permissions: fc.array(permission, { maxLength: 3 }) }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('role.delete' as const),
      role: fc.constantFrom(...ROLES),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('rule.put' as const),
      rule: fc.record({
        id: fc.constantFrom('a', 'b'),
        effect: fc.constantFrom('allow' as const, 'deny' as const),
        subjects: fc.array(fc.constantFrom(...SUBS, 'role:r1', '*'), {
          minLength: 1,
          maxLength: 2,
        }),
        actions: fc.array(fc.constantFrom(...ACTIONS), { minLength: 1, maxLength: 2 }),
        resources: fc.array(fc.constantFrom(...RESOURCES), { minLength: 1, maxLength: 2 }),
      }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('rule.delete' as const),
      id: fc.constantFrom('a', 'b'),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant('revoke' as const),
      target,
      reason: fc.constantFrom('x', 'y'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('revoke.lift' as const), target }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('revoke.prune' as const),
      sessions: fc.subarray(SIDS),
      tokens: fc.subarray(JTIS),
    }),
  },
)

const change: fc.Arbitrary<Change> = fc.oneof(
  { weight: 4, arbitrary: single },
  {
    weight: 1,
    arbitrary: fc
      .array(single, { minLength: 1, maxLength: 6 })
      .map((changes) => ({ type: 'batch' as const, changes })),
  },
)

/** The reference: the same changes on plain objects, cloned at every step. */
function modelApply(doc: Policy, c: Change): Policy | null {
  if (c.type === 'batch') {
    let current: Policy | null = doc
    for (const member of c.changes) {
      current = modelApply(current, member)
      if (current === null) return null
    }
    return current
  }
  const p = structuredClone(doc)
  const r = p.revocations
  const lasting = (old: { until?: number } | undefined, until: number | undefined) =>
    old === undefined
      ? until
      : old.until === undefined || until === undefined
        ? undefined
        : Math.max(old.until, until)
  const keyOf = (t: Extract<Change, { type: 'revoke' }>['target']) =>
    t.kind === 'subject'
      ? ([r.subjects, t.subject] as const)
      : t.kind === 'session'
        ? ([r.sessions, t.session] as const)
        : t.kind === 'token'
          ? ([r.tokens, t.jti] as const)
          : ([r.issuedBefore, t.subject] as const)
  switch (c.type) {
    case 'subject.roles':
      if (c.roles.some((role) => !(role in p.roles))) return null
      if (c.roles.length === 0) delete p.bindings[c.subject]
      else p.bindings[c.subject] = [...new Set(c.roles)]
      return p
    case 'role.put':
      p.roles[c.role] = c.definition
      return p
    case 'role.delete':
      if (!(c.role in p.roles)) return null
      delete p.roles[c.role]
      for (const [k, held] of Object.entries(p.bindings)) {
        const kept = held.filter((x) => x !== c.role)
        if (kept.length === 0) delete p.bindings[k]
        else p.bindings[k] = kept
      }
      return p
    case 'rule.put': {
      const at = p.rules.findIndex((x) => x.id === c.rule.id)
      if (at === -1) p.rules.push(c.rule)
      else p.rules[at] = c.rule
      return p
    }
    case 'rule.delete': {
      const at = p.rules.findIndex((x) => x.id === c.id)
      if (at === -1) return null
      p.rules.splice(at, 1)
      return p
    }
    case 'revoke': {
      const t = c.target
      const reason = c.reason ?? 'revoked'
      if (t.kind === 'subject') r.subjects[t.subject] = { reason, at: NOW }
      else if (t.kind === 'issued_before') {
        const before = Math.max(t.before, r.issuedBefore[t.subject]?.before ?? 0)
        r.issuedBefore[t.subject] = { reason, at: NOW, before }
      } else {
        const [section, key] = keyOf(t) as [
          Record<string, { reason: string; at: number; until?: number }>,
          string,
        ]
        const until = lasting(section[key], t.until)
        section[key] = until === undefined ? { reason, at: NOW } : { reason, at: NOW, until }
      }
      return p
    }
    case 'revoke.lift': {
      const [section, key] = keyOf(c.target) as [Record<string, unknown>, string]
      delete section[key]
      return p
    }
    case 'revoke.prune': {
      let removed = 0
      for (const [section, ids] of [
        [r.sessions, c.sessions],
        [r.tokens, c.tokens],
      ] as const) {
        for (const id of ids) {
          const until = section[id]?.until
          if (until !== undefined && until < NOW_S) {
            delete section[id]
            removed++
          }
        }
      }
      return removed === 0 ? null : p
    }
    default:
      throw new Error(`${c.type} is not drawn`)
  }
}

/** Changes as they arrive: JSON (fast-check may draw null-prototype objects). */
const wire = (changes: Change[]): Change[] => JSON.parse(JSON.stringify(changes)) as Change[]

/** What the APPLY script does with a patch, on plain hashes: HSET and HDEL per field. */
function applyPatch(hashes: Record<string, string>[], ops: string[]): void {
  for (let i = 0; i < ops.length; i += 4) {
    const hash = hashes[Number(ops[i + 1])]!
    if (ops[i] === 'S') hash[ops[i + 2]!] = ops[i + 3]!
    else delete hash[ops[i + 2]!]
  }
}

function decode(hashes: Record<string, string>[]): Policy {
  const decoded = decodeState(hashes.map((h) => Object.entries(h).flat()))
  assert.ok(decoded.ok, JSON.stringify(decoded))
  return toPolicy(decoded.state)
}

const principals: Principal[] = [
  ...SUBS.filter((s) => !s.includes(':')).flatMap((sub) =>
    SIDS.map((sid, i) => ({
      sub,
      sid,
      jti: JTIS[i % 2]!,
      iat: i * 2,
      claims: { groups: ['eng'] },
    })),
  ),
]

function answers(state: PolicyState | Policy) {
  const compiled = compilePolicy(state, 1)
  return principals.map((p) => ({
    decisions: ACTIONS.flatMap((a) => RESOURCES.map((res) => compiled.decide(p, a, res).allow)),
    capabilities: compiled.capabilities(p),
    revocation: compiled.revocation(p),
  }))
}

test('random change sequences give the reference model’s document, decisions and capabilities, and their patches rebuild it', () => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 1, maxLength: 25 }), (drawn) => {
      const changes = wire(drawn)
      let state = toState(emptyPolicy())
      let model = emptyPolicy()
      const hashes: Record<string, string>[] = DOC_KEY_ORDER.map(() => ({}))
      for (const c of changes) {
        const next = applyChange(state, c, NOW)
        const expected = modelApply(model, c)
        assert.equal(next.ok, expected !== null, `${c.type}: accepted by both or neither`)
        if (!next.ok || expected === null) continue
        applyPatch(hashes, encodePatch(state, next.policy, next.touched))
        state = next.policy
        model = expected
      }
      const document = toPolicy(state)
      assert.deepEqual(document, PolicySchema.parse(model))
      assert.deepEqual(decode(hashes), document, 'the patched copy equals the writer’s')
      assert.deepEqual(answers(state), answers(PolicySchema.parse(model)))
    }),
    PARAMS,
  )
})

test('a version keeps its answers after later changes (readers see the version they started on)', () => {
  fc.assert(
    fc.property(fc.array(change, { minLength: 2, maxLength: 15 }), (drawn) => {
      const changes = wire(drawn)
      let state = toState(emptyPolicy())
      const seen: { state: PolicyState; document: Policy; answers: unknown }[] = []
      for (const c of changes) {
        const next = applyChange(state, c, NOW)
        if (!next.ok) continue
        state = next.policy
        seen.push({ state, document: toPolicy(state), answers: answers(state) })
      }
      for (const v of seen) {
        assert.deepEqual(toPolicy(v.state), v.document)
        assert.deepEqual(answers(v.state), v.answers)
      }
    }),
    PARAMS,
  )
})
