/**
 * Decision latency of the compiled policy against node-casbin and Cedar (wasm) on one RBAC
 * workload: 1,000 roles, 1,000 allow/deny rules, 10,000 subjects with 1-3 roles each. All three
 * engines must agree on every sampled request before anything is timed. Casbin and Cedar both
 * evaluate every policy line (about 4,000 here) on each request, so their figures grow with the
 * policy, while ours depend only on the principal's own roles and rule buckets.
 */

import * as cedar from '@cedar-policy/cedar-wasm/nodejs'
import { newEnforcer, newModelFromString } from 'casbin'
import { applyChange } from '../../server/src/policy/changes.js'
import { compilePolicy } from '../../server/src/policy/compile.js'
import type { CompiledPolicy } from '../../server/src/policy/compile.js'
import type { Principal } from '../../server/src/policy/principal.js'
import { PolicySchema } from '../../server/src/policy/schema.js'
import type { Change, PolicyInput } from '../../server/src/policy/schema.js'
import { quantile, round } from './harness.js'
import type { Bench, BenchRow } from './harness.js'

const ROLES = 1_000
const RULES = 1_000
const SUBJECTS = 10_000
const VERBS = ['read', 'write', 'share'] as const
const AREAS = { read: '', write: 'drafts/', share: 'shared/' } as const

/** mulberry32: small, seeded, good enough to pick workload items reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Workload {
  doc: PolicyInput
  held: number[][]
  rules: { effect: 'allow' | 'deny'; subject: string; role: number }[]
  requests: { user: number; action: string; resource: string }[]
}

function workload(requestCount: number): Workload {
  const rnd = prng(42)
  const pick = (n: number) => Math.floor(rnd() * n)
  const roles: PolicyInput['roles'] = {}
  for (let i = 0; i < ROLES; i++) {
    const permissions = VERBS.map((v) => ({
      action: `doc${i}:${v}`,
      resource: `doc/${i}/${AREAS[v]}*`,
    }))
    roles[`r${i}`] = { permissions }
  }
  const held: number[][] = []
  const holders: number[][] = Array.from({ length: ROLES }, () => [])
  const bindings: Record<string, string[]> = {}
  for (let u = 0; u < SUBJECTS; u++) {
    const mine = [...new Set(Array.from({ length: 1 + pick(3) }, () => pick(ROLES)))]
    held.push(mine)
    for (const r of mine) holders[r]!.push(u)
    bindings[`u${u}`] = mine.map((r) => `r${r}`)
  }
  const rules: Workload['rules'] = []
  for (let j = 0; j < RULES; j++) {
    const user = pick(SUBJECTS)
    if (rnd() < 0.3) {
      const byRole = rnd() < 0.3
      const role = byRole ? pick(ROLES) : held[user]![0]!
      rules.push({ effect: 'deny', subject: byRole ? `role:r${role}` : `u${user}`, role })
    } else rules.push({ effect: 'allow', subject: `u${user}`, role: pick(ROLES) })
  }
  const doc: PolicyInput = {
    roles,
    bindings,
    rules: rules.map((r, j) => ({
      id: `rule${j}`,
      effect: r.effect,
      subjects: [r.subject],
      actions: [`doc${r.role}:read`],
      resources: [`doc/${r.role}/${r.effect === 'deny' ? 'secret' : 'public'}/*`],
    })),
  }
  const requests: Workload['requests'] = []
  for (let i = 0; i < requestCount; i++) {
    const kind = rnd()
    let user = pick(SUBJECTS)
    let role = held[user]![pick(held[user]!.length)]!
    let verb: (typeof VERBS)[number] = VERBS[pick(3)]!
    let area: string = AREAS[verb]
    if (kind < 0.2) {
      const rule = rules[pick(RULES)]!
      const members = rule.subject.startsWith('u')
        ? [Number(rule.subject.slice(1))]
        : holders[rule.role]!
      if (members.length > 0) user = members[pick(members.length)]!
      ;[role, verb, area] = [rule.role, 'read', rule.effect === 'deny' ? 'secret/' : 'public/']
    } else if (kind < 0.35) [verb, area] = ['read', 'secret/']
    else if (kind < 0.65) role = pick(ROLES)
    requests.push({
      user,
      action: `doc${role}:${verb}`,
      resource: `doc/${role}/${area}${pick(100)}`,
    })
  }
  return { doc, held, rules, requests }
}

const CASBIN_MODEL = `
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act, eft
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))
[matchers]
m = g(r.sub, p.sub) && keyMatch(r.obj, p.obj) && r.act == p.act
`

async function casbinEngine(w: Workload) {
  const e = await newEnforcer(newModelFromString(CASBIN_MODEL))
  const sub = (s: string) => (s.startsWith('role:') ? s.slice(5) : s)
  const p: string[][] = []
  for (const [name, role] of Object.entries(w.doc.roles ?? {})) {
    for (const { action, resource } of role.permissions) p.push([name, resource, action, 'allow'])
  }
  for (const r of w.doc.rules ?? []) {
    p.push([sub(r.subjects[0]!), r.resources[0]!, r.actions[0]!, r.effect])
  }
  await e.addPolicies(p)
  await e.addGroupingPolicies(w.held.flatMap((roles, u) => roles.map((r) => [`u${u}`, `r${r}`])))
  // enforceSync: the same evaluation as enforce() without a promise per call, casbin's best case.
  return (user: number, action: string, resource: string) =>
    e.enforceSync(`u${user}`, resource, action)
}

function cedarEngine(w: Workload) {
  const like = (pattern: string) => JSON.stringify(pattern)
  const text: string[] = []
  for (const [name, role] of Object.entries(w.doc.roles ?? {})) {
    for (const { action, resource } of role.permissions) {
      text.push(`permit(principal in Role::"${name}", action == Action::"${action}", resource)
        when { context.path like ${like(resource)} };`)
    }
  }
  for (const r of w.doc.rules ?? []) {
    const s = r.subjects[0]!
    const who = s.startsWith('role:') ? `in Role::"${s.slice(5)}"` : `== User::"${s}"`
    text.push(`${r.effect === 'allow' ? 'permit' : 'forbid'}(principal ${who},
      action == Action::"${r.actions[0]}", resource) when { context.path like ${like(r.resources[0]!)} };`)
  }
  const parsed = cedar.preparsePolicySet('vigil-bench', { staticPolicies: text.join('\n') })
  if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors)}`)
  const entities = w.held.map((roles, u) => [
    {
      uid: { type: 'User', id: `u${u}` },
      attrs: {},
      parents: roles.map((r) => ({ type: 'Role', id: `r${r}` })),
    },
  ])
  return (user: number, action: string, resource: string) => {
    const answer = cedar.statefulIsAuthorized({
      principal: { type: 'User', id: `u${user}` },
      action: { type: 'Action', id: action },
      resource: { type: 'Doc', id: resource },
      context: { path: resource },
      preparsedPolicySetId: 'vigil-bench',
      entities: entities[user]!,
    })
    if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`)
    return answer.response.decision === 'allow'
  }
}

type Engine = (user: number, action: string, resource: string) => boolean

/** Per-decision times (µs), each the mean of one batch of `batch` consecutive decisions. */
function timeBatches(engine: Engine, w: Workload, count: number, batch: number): number[] {
  const out: number[] = []
  let allowed = 0
  for (let start = 0; start + batch <= count; start += batch) {
    const t0 = process.hrtime.bigint()
    for (let i = start; i < start + batch; i++) {
      const r = w.requests[i % w.requests.length]!
      if (engine(r.user, r.action, r.resource)) allowed++
    }
    out.push(Number(process.hrtime.bigint() - t0) / 1_000 / batch)
  }
  if (allowed < 0) throw new Error('unreachable: keeps the loop observable')
  return out.sort((a, b) => a - b)
}

const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e3

/** Median µs of compiling `policy` with `previous`, over 21 runs. */
function recompileUs(previous: CompiledPolicy, change: Change): number {
  const next = applyChange(previous.policy, change, Date.now())
  if (!next.ok) throw new Error(next.message)
  const runs: number[] = []
  for (let i = 0; i < 21; i++) {
    const t0 = process.hrtime.bigint()
    compilePolicy(next.policy, previous.version + 1, previous)
    runs.push(since(t0))
  }
  return quantile(
    runs.sort((a, b) => a - b),
    0.5,
  )
}

function row(key: string, value: number, unit: string, note?: string): BenchRow {
  const rounded = round(value, unit === 'x' ? 1 : 3)
  return note === undefined ? { key, value: rounded, unit } : { key, value: rounded, unit, note }
}

export const bench: Bench = async ({ quick }) => {
  const w = workload(quick ? 50_000 : 200_000)
  const policy = PolicySchema.parse(w.doc)
  let t0 = process.hrtime.bigint()
  const compiled = compilePolicy(policy, 1)
  const compileMs = since(t0) / 1e3
  const revoke: Change = { type: 'revoke', target: { kind: 'subject', subject: 'u1' } }
  t0 = process.hrtime.bigint()
  applyChange(policy, revoke, Date.now())
  const applyMs = since(t0) / 1e3
  const recompile = {
    revoke: recompileUs(compiled, revoke),
    binding: recompileUs(compiled, { type: 'subject.roles', subject: 'u2', roles: ['r1'] }),
    role: recompileUs(compiled, { type: 'role.put', role: 'r3', definition: { permissions: [] } }),
    rule: recompileUs(compiled, { type: 'rule.delete', id: 'rule5' }),
  }

  const principals: Principal[] = w.held.map((_, u) => ({ sub: `u${u}`, claims: { sub: `u${u}` } }))
  const cold: number[] = []
  for (const p of principals) {
    t0 = process.hrtime.bigint()
    compiled.decide(p, 'doc0:read', 'doc/0/1')
    cold.push(since(t0))
  }
  cold.sort((a, b) => a - b)
  const vigil: Engine = (u, a, r) => compiled.decide(principals[u]!, a, r).allow
  const casbin = await casbinEngine(w)
  const cedarDecide = cedarEngine(w)

  const samples = quick ? 100 : 500
  let allows = 0
  for (const { user, action, resource } of w.requests.slice(0, samples)) {
    const answers = [vigil, casbin, cedarDecide].map((engine) => engine(user, action, resource))
    if (answers.some((a) => a !== answers[0])) {
      throw new Error(`engines disagree on u${user} ${action} ${resource}: ${answers.join(' / ')}`)
    }
    if (answers[0]) allows++
  }
  if (allows === 0 || allows === samples) throw new Error('the workload must mix allows and denies')

  timeBatches(vigil, w, 100_000, 100) // JIT warm-up
  const ours = timeBatches(vigil, w, quick ? 200_000 : 1_000_000, 100)
  const theirs = timeBatches(casbin, w, quick ? 100 : 1_000, 10)
  const cedars = timeBatches(cedarDecide, w, quick ? 100 : 1_000, 10)
  const p50 = quantile(ours, 0.5)
  const [casbinP50, cedarP50] = [quantile(theirs, 0.5), quantile(cedars, 0.5)]
  const batches = 'per-decision means of batches of 100 (hrtime); quantiles are over batch means'
  const load = `${ROLES} roles, ${RULES} rules, ${SUBJECTS} subjects, ${round((100 * allows) / samples, 1)}% allows; the three engines agreed on ${samples} samples`
  return [
    row('decide.p50_us', p50, 'us', `${batches}; ${load}`),
    row('decide.p99_us', quantile(ours, 0.99), 'us', batches),
    row(
      'decide.cold_p50_us',
      quantile(cold, 0.5),
      'us',
      'first decision per principal after a compile, timed singly',
    ),
    row('decide.cold_p99_us', quantile(cold, 0.99), 'us'),
    row(
      'decide.casbin_p50_us',
      casbinP50,
      'us',
      'node-casbin enforceSync (keyMatch, g roles), batches of 10',
    ),
    row(
      'decide.cedar_p50_us',
      cedarP50,
      'us',
      'cedar-wasm statefulIsAuthorized on a preparsed set, batches of 10',
    ),
    row('decide.casbin_ratio', casbinP50 / p50, 'x', 'casbin p50 / ours, same run'),
    row('decide.cedar_ratio', cedarP50 / p50, 'x', 'cedar p50 / ours, same run'),
    row('decide.compile_ms', compileMs, 'ms', 'full compile of the workload policy, cold'),
    row(
      'decide.recompile_us',
      Math.max(recompile.revoke, recompile.binding),
      'us',
      'compile with previous after a revocation or a binding change (worse median of the two)',
    ),
    row(
      'decide.recompile_role_us',
      recompile.role,
      'us',
      'compile with previous after role.put of one role',
    ),
    row(
      'decide.recompile_rule_us',
      recompile.rule,
      'us',
      'compile with previous after rule.delete of one rule',
    ),
    row(
      'decide.apply_change_ms',
      applyMs,
      'ms',
      'applyChange of a subject revocation on the workload policy',
    ),
  ]
}
