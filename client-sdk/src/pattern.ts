/**
 * `*` glob matching, the one implementation both sides use: the enforcer's policy compiler
 * imports it (`@vigil-enforcer/client/pattern`) and the SDK's `can()` runs it in the browser, so a client
 * can never disagree with the server about what a pattern covers. `*` matches any run of
 * characters, `/` and `:` included; every other character stands for itself.
 *
 * @module
 */

/** A compiled pattern: true when `value` matches. Never throws. */
export type Matcher = (value: string) => boolean

/** The matcher of `*` alone: callers compare against it to short-circuit "matches anything". */
export const matchEverything: Matcher = () => true

/**
 * Compiles a `*` glob into a matcher: an exact compare, a prefix, suffix or substring test, or a
 * segment scan for patterns with several `*`. No regular expression is built: a pattern of 256
 * stars against a huge input would backtrack for minutes, while the scan below is linear in the
 * input per segment.
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
  if (segments.length === 2) {
    if (first === '' && last === '') return matchEverything
    if (last === '') return (value) => value.startsWith(first)
    if (first === '') return (value) => value.endsWith(last)
    const min = first.length + last.length
    return (value) => value.length >= min && value.startsWith(first) && value.endsWith(last)
  }
  const middle = segments.slice(1, -1)
  if (first === '' && last === '' && middle.length === 1) {
    const needle = middle[0]!
    return (value) => value.includes(needle)
  }
  const min = segments.reduce((n, s) => n + s.length, 0)
  return (value) => {
    if (value.length < min || !value.startsWith(first) || !value.endsWith(last)) return false
    // Leftmost-first placement of each middle segment is optimal for `*`-only globs: taking an
    // earlier occurrence never leaves less room for the segments after it.
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
