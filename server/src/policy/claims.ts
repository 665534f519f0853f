/**
 * What a token's claims mean to the policy: the claim-derived group keys of a principal and the
 * `when` conditions of rules.
 *
 * @module
 */

type Claims = Readonly<Record<string, unknown>>

/** A compiled `when`: true when every named claim holds one of its listed values. */
export type Condition = (claims: Claims) => boolean

/** Reads an own claim only: a claim named `constructor` must not find `Object.prototype`'s. */
function claimOf(claims: Claims, name: string): unknown {
  return Object.hasOwn(claims, name) ? claims[name] : undefined
}

/** Scalars compare by their string form, so `{ level: ['2'] }` accepts the number claim `2`. */
function scalarText(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

/**
 * The group keys a principal's claims give it: for each `[claim, prefix]`, a string claim `v`
 * gives `prefix:v` and an array claim one key per string element. Other types are ignored, and
 * so are empty strings, which would name a group nobody meant.
 *
 * @example
 * ```ts
 * claimKeys({ groups: ['eng', 'ops'], tenant: 'acme' }, { groups: 'group', tenant: 'tenant' })
 * // ['group:eng', 'group:ops', 'tenant:acme']
 * ```
 */
export function claimKeys(
  claims: Claims | null | undefined,
  groupClaims: Readonly<Record<string, string>>,
): string[] {
  const keys: string[] = []
  if (claims === null || typeof claims !== 'object') return keys
  for (const [claim, prefix] of Object.entries(groupClaims)) {
    const value = claimOf(claims, claim)
    if (typeof value === 'string') {
      if (value !== '') keys.push(`${prefix}:${value}`)
    } else if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item === 'string' && item !== '') keys.push(`${prefix}:${item}`)
      }
    }
  }
  return keys
}

/**
 * Compiles a rule's `when` into a condition, or `null` when the rule has none. A missing claim,
 * or one of a type that cannot equal a string, fails the condition: a rule asking for `acr`
 * must not apply to a token that says nothing about it.
 *
 * @example
 * ```ts
 * const cond = compileCondition({ amr: ['mfa', 'hwk'] })
 * cond?.({ amr: ['pwd', 'mfa'] }) // true
 * ```
 */
export function compileCondition(
  when: Readonly<Record<string, readonly string[]>> | undefined,
): Condition | null {
  if (when === undefined) return null
  const checks = Object.entries(when).map(([claim, values]) => [claim, new Set(values)] as const)
  if (checks.length === 0) return null
  return (claims) => {
    if (claims === null || typeof claims !== 'object') return false
    for (const [claim, accepted] of checks) {
      if (!holds(claimOf(claims, claim), accepted)) return false
    }
    return true
  }
}

function holds(value: unknown, accepted: ReadonlySet<string>): boolean {
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = scalarText(item)
      if (text !== undefined && accepted.has(text)) return true
    }
    return false
  }
  const text = scalarText(value)
  return text !== undefined && accepted.has(text)
}
