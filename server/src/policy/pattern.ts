/**
 * `*` glob patterns over actions, resources and principal keys, compiled once into the cheapest
 * test that decides them. `*` matches any run of characters, `/` and `:` included; every other
 * character stands for itself.
 *
 * @module
 */

/** A compiled pattern: true when `value` matches. Never throws. */
export type Matcher = (value: string) => boolean

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

const matchEverything: Matcher = () => true

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
