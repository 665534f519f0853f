/**
 * Explicit allow/deny rules indexed for the decision path: first by subject key (exact key,
 * `role:<name>`, `*`, or a glob over keys), then by exact action, with glob actions in a short
 * list beside. A decision touches only the buckets of the principal's own keys, so its cost does
 * not grow with the number of rules or subjects.
 *
 * @module
 */

import { compileCondition } from './claims.js'
import type { Condition } from './claims.js'
import { compileAnyPattern, compilePattern, isGlob } from './pattern.js'
import type { Matcher } from './pattern.js'
import type { Rule } from './schema.js'

/** One rule, compiled. `order` is its position in the document, the tie-break between rules. */
export interface CompiledRule {
  readonly id: string
  readonly order: number
  readonly effect: 'allow' | 'deny'
  readonly source: Rule
  readonly resource: Matcher
  readonly when: Condition | null
}

/** Rules of one effect, by action. */
export interface ActionIndex {
  readonly byAction: ReadonlyMap<string, readonly CompiledRule[]>
  readonly globActions: readonly { readonly action: Matcher; readonly rule: CompiledRule }[]
}

/** The rules whose subjects name one principal key (or one key pattern). */
export interface RuleBucket {
  readonly allow: ActionIndex | null
  readonly deny: ActionIndex | null
  /** Each rule of the bucket once, in document order, for capabilities. */
  readonly rules: readonly CompiledRule[]
}

export interface RuleIndex {
  /** Exact subject key (`alice`, `group:eng`, `role:editor`) → its rules. */
  readonly bySubject: ReadonlyMap<string, RuleBucket>
  /** Rules for subject `*`: they apply to every principal. */
  readonly everyone: RuleBucket | null
  /** Rules whose subject is a glob over keys; matched once per principal and cached there. */
  readonly globSubjects: readonly { readonly subject: Matcher; readonly bucket: RuleBucket }[]
  /** Every rule in document order. */
  readonly rules: readonly CompiledRule[]
}

interface MutableActionIndex {
  byAction: Map<string, CompiledRule[]>
  globActions: { action: Matcher; rule: CompiledRule }[]
}

interface MutableBucket {
  allow: MutableActionIndex | null
  deny: MutableActionIndex | null
  rules: CompiledRule[]
}

/**
 * Builds the rule index. With `previous`, an unchanged rule list returns the previous index as
 * is, and unchanged rules keep their compiled matchers. Equality is by content: `applyChange`
 * deep-clones the document, so identity alone would never hit.
 *
 * @example
 * ```ts
 * const index = buildRuleIndex(policy.rules, current?.rules)
 * ```
 */
export function buildRuleIndex(rules: readonly Rule[], previous?: RuleIndex): RuleIndex {
  if (previous !== undefined && sameRuleList(previous.rules, rules)) return previous
  const oldById = new Map(previous?.rules.map((r) => [r.id, r]))
  const compiled = rules.map((rule, order) => {
    const old = oldById.get(rule.id)
    if (old === undefined || !sameRule(old.source, rule)) return compileRule(rule, order)
    return old.order === order ? old : { ...old, order }
  })

  const bySubject = new Map<string, MutableBucket>()
  const globs = new Map<string, MutableBucket>()
  let everyone: MutableBucket | null = null
  for (const rule of compiled) {
    for (const subject of new Set(rule.source.subjects)) {
      let bucket: MutableBucket
      if (!isGlob(subject)) bucket = bucketIn(bySubject, subject)
      else if (/^\*+$/.test(subject)) bucket = everyone ??= emptyBucket()
      else bucket = bucketIn(globs, subject)
      addToBucket(bucket, rule)
    }
  }
  return {
    bySubject,
    everyone,
    globSubjects: [...globs].map(([subject, bucket]) => ({
      subject: compilePattern(subject),
      bucket,
    })),
    rules: compiled,
  }
}

/**
 * True when a rule found by action also matches the resource and its `when` holds.
 *
 * @example
 * ```ts
 * if (ruleApplies(rule, 'doc/42', principal.claims)) deny(rule.id)
 * ```
 */
export function ruleApplies(
  rule: CompiledRule,
  resource: string,
  claims: Readonly<Record<string, unknown>>,
): boolean {
  return rule.resource(resource) && (rule.when === null || rule.when(claims))
}

function compileRule(rule: Rule, order: number): CompiledRule {
  return {
    id: rule.id,
    order,
    effect: rule.effect,
    source: rule,
    resource: compileAnyPattern(rule.resources),
    when: compileCondition(rule.when),
  }
}

function emptyBucket(): MutableBucket {
  return { allow: null, deny: null, rules: [] }
}

function bucketIn(map: Map<string, MutableBucket>, key: string): MutableBucket {
  let bucket = map.get(key)
  if (bucket === undefined) map.set(key, (bucket = emptyBucket()))
  return bucket
}

function addToBucket(bucket: MutableBucket, rule: CompiledRule): void {
  bucket.rules.push(rule)
  const index =
    rule.effect === 'allow' ? (bucket.allow ??= newIndex()) : (bucket.deny ??= newIndex())
  for (const action of new Set(rule.source.actions)) {
    if (isGlob(action)) {
      index.globActions.push({ action: compilePattern(action), rule })
      continue
    }
    const list = index.byAction.get(action)
    if (list) list.push(rule)
    else index.byAction.set(action, [rule])
  }
}

function newIndex(): MutableActionIndex {
  return { byAction: new Map(), globActions: [] }
}

function sameRuleList(a: readonly CompiledRule[], b: readonly Rule[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (!sameRule(a[i]!.source, b[i]!)) return false
  return true
}

/** Content equality over what decides; `description` is ignored. */
function sameRule(a: Rule, b: Rule): boolean {
  if (a === b) return true
  return (
    a.id === b.id &&
    a.effect === b.effect &&
    sameStrings(a.subjects, b.subjects) &&
    sameStrings(a.actions, b.actions) &&
    sameStrings(a.resources, b.resources) &&
    sameWhen(a.when, b.when)
  )
}

function sameWhen(a: Rule['when'], b: Rule['when']): boolean {
  if (a === b) return true
  if (a === undefined || b === undefined) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    const other = Object.hasOwn(b, key) ? b[key] : undefined
    if (other === undefined || !sameStrings(a[key]!, other)) return false
  }
  return true
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
