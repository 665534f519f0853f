/**
 * Event names, as the guard sees them: untrusted, up to a whole frame long, and — when no rule
 * maps them — written to the audit log. A 64 KB frame whose name was 32,000 × "é" once became a
 * 192 KB audit line (issue #13, item 2), so names are capped and audited by a short prefix.
 *
 * @module
 * @internal
 */

/**
 * The longest event name the guard looks at; a longer one is refused with `invalid_payload`
 * before any lookup, validation or decision. Rule names must fit too (checked at start).
 */
export const MAX_EVENT_NAME_LENGTH = 128

/** How much of an unmapped name the audit line keeps. */
const AUDIT_PREFIX_LENGTH = 32

/**
 * The name an unmapped (or overlong) event is audited under: the name itself when short, else its
 * first 32 characters and its length — `éééé…(32000 chars)`. A lone high surrogate at the cut is
 * dropped, so the prefix stays well-formed text.
 *
 * @example
 * ```ts
 * auditedName('doc:delete') // 'doc:delete'
 * auditedName('x'.repeat(500)) // 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…(500 chars)'
 * ```
 */
export function auditedName(name: string): string {
  if (name.length <= AUDIT_PREFIX_LENGTH) return name
  let end = AUDIT_PREFIX_LENGTH
  const last = name.charCodeAt(end - 1)
  if (last >= 0xd800 && last <= 0xdbff) end -= 1
  return `${name.slice(0, end)}…(${name.length} chars)`
}
