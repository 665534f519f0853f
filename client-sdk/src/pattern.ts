/**
 * `*` glob matching with exactly the enforcer's semantics (server/src/policy/pattern.ts): `*`
 * matches any run of characters, `/` and `:` included; every other character stands for itself.
 * A browser-safe copy rather than an import, so the bundle never pulls in server code.
 *
 * @module
 * @internal
 */

/** A compiled pattern: true when `value` matches. Never throws. */
export type Matcher = (value: string) => boolean

const matchEverything: Matcher = () => true

/**
 * Compiles a `*` glob into a matcher. No regular expression is built: a pattern of many stars
 * against a long input would backtrack, while the segment scan below stays linear per segment.
 *
 * @example
 * ```ts
 * const m = compilePattern('doc/*')
 * m('doc/42') // true
 * m('docs/42') // false
 * ```
 */
export function compilePattern(pattern: string): Matcher {
  // `**` means the same as `*`; collapsing keeps the segment list free of empty middles.
  const segments = pattern.split(/\*+/)
  if (segments.length === 1) return (value) => value === pattern
  const first = segments[0]!
  const last = segments[segments.length - 1]!
  if (segments.length === 2 && first === '' && last === '') return matchEverything
  const middle = segments.slice(1, -1)
  // Requiring the summed length keeps `first` and `last` from overlapping in short inputs.
  const min = segments.reduce((n, s) => n + s.length, 0)
  return (value) => {
    if (value.length < min || !value.startsWith(first) || !value.endsWith(last)) return false
    // Leftmost placement of each middle segment is optimal for `*`-only globs: an earlier
    // occurrence never leaves less room for the segments after it.
    let at = first.length
    const end = value.length - last.length
    for (const segment of middle) {
      const found = value.indexOf(segment, at)
      if (found === -1 || found + segment.length > end) return false
      at = found + segment.length
    }
    return true
  }
}

/**
 * True when `pattern` matches `value`, compiling on the fly.
 *
 * @example
 * ```ts
 * matchPattern('doc:*', 'doc:read') // true
 * ```
 */
export function matchPattern(pattern: string, value: string): boolean {
  return compilePattern(pattern)(value)
}
