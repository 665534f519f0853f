/**
 * Property-based tests of the decision engine against a reference model short enough to check by
 * eye: revocations first, then any matching deny, then role grants, then allow rules, else deny.
 * Policies and principals are drawn from small alphabets so that patterns, names and claims
 * collide often. The seed is fixed; set VIGIL_FUZZ_SEED to replay another run.
 */

import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { compilePolicy } from '../../src/policy/compile.js'
import type { Principal } from '../../src/policy/principal.js'
import { PolicySchema, type Policy } from '../../src/policy/schema.js'

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 13)
const RUNS = 200
const PARAMS = { seed: SEED, numRuns: RUNS }
console.log(`decide-model: VIGIL_FUZZ_SEED=${SEED}`)

const SUBS = ['alice', 'bob', 'carol']
const ROLES = ['r0', 'r1', 'r2']
const SIDS = ['s1', 's2']
const JTIS = ['j1', 'j2']
const CLAIM_VALUES = ['x', 'y']

/** The model's glob: `*` matches any run of characters, everything else is literal. */
function glob(pattern: string, value: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${source}$`, 's').test(value)
}

const text = (chars: string[], max: number) =>
  fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: max }).map((a) => a.join(''))
const value = text(['a', 'b', ':', '/'], 4)
const pattern = text(['a', 'b', ':', '/', '*'], 4)
const subjectPattern = fc.oneof(
  fc.constantFrom(...SUBS, '*', 'a*', '*o*'),
  fc.constantFrom(...ROLES.map((r) => `role:${r}`), 'role:*'),
)
const when = fc.option(
  fc.dictionary(
    fc.constantFrom('acr', 'level'),
    fc.uniqueArray(fc.constantFrom(...CLAIM_VALUES), { minLength: 1 }),
    {
      minKeys: 1,
    },
  ),
  { nil: undefined },
)

const policyArb = fc
  .record({
    roles: fc.dictionary(
      fc.constantFrom(...ROLES),
      fc.array(fc.record({ action: pattern, resource: pattern }), { maxLength: 3 }),
    ),
    bindings: fc.dictionary(fc.constantFrom(...SUBS), fc.uniqueArray(fc.constantFrom(...ROLES))),
    rules: fc.array(
      fc.record({
        effect: fc.constantFrom('allow', 'deny'),
        subjects: fc.array(subjectPattern, { minLength: 1, maxLength: 2 }),
        actions: fc.array(pattern, { minLength: 1, maxLength: 2 }),
        resources: fc.array(pattern, { minLength: 1, maxLength: 2 }),
        when,
      }),
      { maxLength: 5 },
    ),
    revokedSubjects: fc.subarray(SUBS, { maxLength: 1 }),
    revokedSessions: fc.subarray(SIDS, { maxLength: 1 }),
    revokedTokens: fc.subarray(JTIS, { maxLength: 1 }),
    issuedBefore: fc.dictionary(fc.constantFrom(...SUBS), fc.integer({ min: 0, max: 4 })),
  })
  .map((p): Policy =>
    parsed({
      roles: Object.fromEntries(
        Object.entries(p.roles).map(([name, permissions]) => [name, { permissions }]),
      ),
      // The schema refuses bindings to roles the document does not define.
      bindings: Object.fromEntries(
        Object.entries(p.bindings).map(([sub, roles]) => [
          sub,
          roles.filter((r) => Object.hasOwn(p.roles, r)),
        ]),
      ),
      rules: p.rules.map((r, i) => ({
        id: `rule-${i}`,
        effect: r.effect,
        subjects: r.subjects,
        actions: r.actions,
        resources: r.resources,
        ...(r.when === undefined ? {} : { when: r.when }),
      })),
      revocations: {
        subjects: Object.fromEntries(p.revokedSubjects.map((s) => [s, { reason: 'r', at: 1 }])),
        sessions: Object.fromEntries(p.revokedSessions.map((s) => [s, { reason: 'r', at: 1 }])),
        tokens: Object.fromEntries(p.revokedTokens.map((s) => [s, { reason: 'r', at: 1 }])),
        issuedBefore: Object.fromEntries(
          Object.entries(p.issuedBefore).map(([s, before]) => [s, { reason: 'r', at: 1, before }]),
        ),
      },
    }),
  )

const principalArb = fc
  .record({
    sub: fc.constantFrom(...SUBS),
    sid: fc.option(fc.constantFrom(...SIDS), { nil: undefined }),
    jti: fc.option(fc.constantFrom(...JTIS), { nil: undefined }),
    iat: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    acr: fc.option(fc.oneof(fc.constantFrom(...CLAIM_VALUES, 'z'), fc.constant(['y', 'z'])), {
      nil: undefined,
    }),
    level: fc.option(fc.constantFrom(...CLAIM_VALUES), { nil: undefined }),
  })
  .map(({ sub, sid, jti, iat, acr, level }): Principal => {
    const extra = {
      ...(sid === undefined ? {} : { sid }),
      ...(jti === undefined ? {} : { jti }),
      ...(iat === undefined ? {} : { iat }),
    }
    const claims = {
      sub,
      ...extra,
      ...(acr === undefined ? {} : { acr }),
      ...(level === undefined ? {} : { level }),
    }
    return { sub, ...extra, claims }
  })

/** Parses a generated document, naming zod's issues if the generator ever strays outside it. */
function parsed(input: unknown): Policy {
  const result = PolicySchema.safeParse(input)
  if (!result.success) throw new Error(JSON.stringify(result.error.issues))
  return result.data
}

interface Expected {
  allow: boolean
  reason: string
  /** The rule id, or every `role:<name>` that may be reported for a role grant. */
  rules?: string[]
}

/** The reference model, written straight from the documented algorithm. */
function model(policy: Policy, p: Principal, action: string, resource: string): Expected {
  const rev = policy.revocations
  if (Object.hasOwn(rev.subjects, p.sub)) return { allow: false, reason: 'subject_revoked' }
  if (p.sid !== undefined && Object.hasOwn(rev.sessions, p.sid)) {
    return { allow: false, reason: 'session_revoked' }
  }
  if (p.jti !== undefined && Object.hasOwn(rev.tokens, p.jti)) {
    return { allow: false, reason: 'token_revoked' }
  }
  const boundary = rev.issuedBefore[p.sub]
  if (boundary !== undefined && (p.iat === undefined || p.iat < boundary.before)) {
    return { allow: false, reason: 'issued_before' }
  }
  const roles = (policy.bindings[p.sub] ?? []).filter((r) => Object.hasOwn(policy.roles, r))
  const keys = [p.sub, ...roles.map((r) => `role:${r}`)]
  const claimHolds = (claim: unknown, accepted: readonly string[]): boolean =>
    Array.isArray(claim)
      ? claim.some((c) => accepted.includes(c))
      : typeof claim === 'string' && accepted.includes(claim)
  const applies = (rule: Policy['rules'][number]): boolean =>
    rule.subjects.some((s) => keys.some((k) => glob(s, k))) &&
    rule.actions.some((a) => glob(a, action)) &&
    rule.resources.some((r) => glob(r, resource)) &&
    Object.entries(rule.when ?? {}).every(([claim, accepted]) =>
      claimHolds(p.claims[claim], accepted),
    )
  const deny = policy.rules.find((r) => r.effect === 'deny' && applies(r))
  if (deny !== undefined) return { allow: false, reason: 'denied_by_rule', rules: [deny.id] }
  const granting = roles.filter((r) =>
    policy.roles[r]!.permissions.some(
      (perm) => glob(perm.action, action) && glob(perm.resource, resource),
    ),
  )
  if (granting.length > 0) {
    return { allow: true, reason: 'allowed_by_role', rules: granting.map((r) => `role:${r}`) }
  }
  const allow = policy.rules.find((r) => r.effect === 'allow' && applies(r))
  if (allow !== undefined) return { allow: true, reason: 'allowed_by_rule', rules: [allow.id] }
  return { allow: false, reason: 'no_matching_permission' }
}

function agrees(policy: Policy, p: Principal, action: string, resource: string): void {
  const got = compilePolicy(policy, 1).decide(p, action, resource)
  const want = model(policy, p, action, resource)
  const context = JSON.stringify({ policy, p, action, resource, got, want })
  assert.equal(got.allow, want.allow, context)
  assert.equal(got.reason, want.reason, context)
  if (want.rules === undefined) assert.equal(got.rule, undefined, context)
  else assert.ok(want.rules.includes(got.rule!), context)
}

test('the engine decides every random request as the reference model does', () => {
  fc.assert(
    fc.property(policyArb, principalArb, value, value, (policy, p, action, resource) => {
      agrees(policy, p, action, resource)
    }),
    PARAMS,
  )
})

test('a request the policy itself names (a permission or rule pattern as the value) is decided as the model does', () => {
  // Random values rarely hit long literal patterns; taking them from the policy makes allows common.
  fc.assert(
    fc.property(policyArb, principalArb, fc.nat(), (policy, p, pick) => {
      const patterns = [
        ...Object.values(policy.roles).flatMap((r) =>
          r.permissions.flatMap((x) => [x.action, x.resource]),
        ),
        ...policy.rules.flatMap((r) => [...r.actions, ...r.resources]),
        'a',
      ].map((s) => s.replaceAll('*', 'a'))
      const action = patterns[pick % patterns.length]!
      const resource = patterns[(pick >> 3) % patterns.length]!
      agrees(policy, p, action, resource)
    }),
    PARAMS,
  )
})

test('a matching deny always wins over any allow, whatever else the policy holds', () => {
  fc.assert(
    fc.property(policyArb, principalArb, value, value, (policy, p, action, resource) => {
      const denied = {
        ...policy,
        rules: [
          ...policy.rules,
          {
            id: 'deny-all',
            effect: 'deny' as const,
            subjects: ['*'],
            actions: ['*'],
            resources: ['*'],
          },
        ],
      }
      assert.equal(compilePolicy(denied, 1).decide(p, action, resource).allow, false)
    }),
    PARAMS,
  )
})

test('a policy with no roles and no rules denies every request by default', () => {
  fc.assert(
    fc.property(principalArb, value, value, (p, action, resource) => {
      const decision = compilePolicy(PolicySchema.parse({}), 1).decide(p, action, resource)
      assert.equal(decision.allow, false)
    }),
    PARAMS,
  )
})
