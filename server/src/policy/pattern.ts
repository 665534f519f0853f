/**
 * `*` glob patterns over actions, resources and principal keys. The matcher itself is shared with
 * the SDK (`@vigil-enforcer/client/pattern`), so the browser's `can()` and the enforcer agree exactly;
 * this module adds what only the policy compiler needs.
 *
 * @module
 */

import { compilePattern, matchEverything, type Matcher } from '@vigil-enforcer/client/pattern'

export { compilePattern }
export type { Matcher }

/**
 * True when `pattern` contains a `*`, i.e. it is not an exact string and cannot be a map key.
 *
 * @example
 * ```ts
 * isGlob('doc/*') // true
 * isGlob('doc:read') // false
 * ```
 */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*')
}

/**
 * Compiles several patterns into one matcher that is true when any of them matches. Exact
 * strings go into a `Set`, so a rule listing a thousand resources costs one hash lookup.
 *
 * @example
 * ```ts
 * const m = compileAnyPattern(['doc/1', 'doc/2', 'img/*'])
 * m('img/cat.png') // true
 * ```
 */
export function compileAnyPattern(patterns: readonly string[]): Matcher {
  const exact = new Set<string>()
  const globs: Matcher[] = []
  for (const pattern of patterns) {
    if (!isGlob(pattern)) exact.add(pattern)
    else {
      const matcher = compilePattern(pattern)
      if (matcher === matchEverything) return matchEverything
      globs.push(matcher)
    }
  }
  if (globs.length === 0) {
    if (exact.size === 1) return compilePattern(patterns[0]!)
    return (value) => exact.has(value)
  }
  if (exact.size === 0 && globs.length === 1) return globs[0]!
  return (value) => {
    if (exact.has(value)) return true
    for (const glob of globs) if (glob(value)) return true
    return false
  }
}

/**
 * True when `pattern` matches `value`, compiling on the fly. For one-off checks; hot paths keep
 * the compiled matcher instead.
 *
 * @example
 * ```ts
 * matchPattern('doc:*', 'doc:read') // true
 * ```
 */
export function matchPattern(pattern: string, value: string): boolean {
  return compilePattern(pattern)(value)
}
