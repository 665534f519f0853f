import type { DecisionRecord } from './audit-log.js'

/** Distinct principals and actions whose JSON fragments are kept before starting over. */
const MAX_FRAGMENTS = 10_000

interface PrincipalFragment {
  transport: string
  sub: string | undefined
  sid: string | undefined
  text: string
}

/**
 * Formats decision lines: exactly the line `logger.info(record, 'decision')` writes — the same
 * keys in the same order, undefined fields left out — without pino's generic serializer, which
 * cost several times the line itself on the per-message path. Two differences, both still the
 * same JSON: every non-ASCII character is escaped (so a batch of lines can be written as latin1
 * bytes, with no UTF-8 pass), and so is a lone surrogate.
 *
 * One principal sends many messages: its `transport`/`sub`/`sid`/`jti` fragment is escaped once
 * and kept, keyed by its token id (the same string object on every decision, so hashing it is
 * free after the first); so is each action's. Fewer, longer pieces also make the batch cheaper
 * to flatten into bytes.
 *
 * @example
 * ```ts
 * const line = createDecisionLines(30, 'node-a')
 * line({ transport: 'http', sub: 'alice', action: 'doc:read', resource: 'doc/1', ... })
 * // '{"level":30,"time":…,"node":"node-a","log":"audit","transport":"http","sub":"alice",…}\n'
 * ```
 */
export function createDecisionLines(level: number, nodeId: string): (r: DecisionRecord) => string {
  const head = `{"level":${level},"time":`
  const base = `,"node":${asciiJson(nodeId)},"log":"audit"`
  const principals = new Map<string, PrincipalFragment>()
  const actions = new Map<string, string>()

  function principalPart(r: DecisionRecord): string {
    const { jti } = r
    if (jti === undefined) return principalText(r)
    let known = principals.get(jti)
    if (
      known === undefined ||
      known.transport !== r.transport ||
      known.sub !== r.sub ||
      known.sid !== r.sid
    ) {
      if (principals.size >= MAX_FRAGMENTS) principals.clear()
      known = { transport: r.transport, sub: r.sub, sid: r.sid, text: principalText(r) }
      principals.set(jti, known)
    }
    return known.text
  }

  function actionPart(action: string): string {
    let text = actions.get(action)
    if (text === undefined) {
      if (actions.size >= MAX_FRAGMENTS) actions.clear()
      text = `,"action":${quote(action)},"resource":`
      actions.set(action, text)
    }
    return text
  }

  return function decisionLine(r) {
    let line = `${head}${Date.now()}${base}${principalPart(r)}${actionPart(r.action)}`
    line += `${quote(r.resource)},"allow":${r.allow},"reason":${quote(r.reason)}`
    if (r.rule !== undefined) line += `,"rule":${quote(r.rule)}`
    return `${line},"version":${num(r.version)},"durationUs":${micros(r.durationUs)},"event":"decision"}\n`
  }
}

function principalText(r: DecisionRecord): string {
  let text = `,"transport":${quote(r.transport)}`
  if (r.sub !== undefined) text += `,"sub":${quote(r.sub)}`
  if (r.sid !== undefined) text += `,"sid":${quote(r.sid)}`
  if (r.jti !== undefined) text += `,"jti":${quote(r.jti)}`
  return text
}

/**
 * Anything but printable ASCII other than `"` and `\`: what JSON must escape (quotes,
 * backslashes, control characters, lone surrogates) and, so that every decision line is pure
 * ASCII, any other non-ASCII character too.
 */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/
const NON_ASCII = /[\u0080-\uffff]/g

/** A JSON string: most values need no escaping, and testing for that is cheaper than escaping. */
function quote(value: string): string {
  return NEEDS_ESCAPE.test(value) ? asciiJson(value) : `"${value}"`
}

/** `JSON.stringify`, with every non-ASCII UTF-16 unit written as `\uXXXX` (still the same JSON). */
export function asciiJson(value: string): string {
  return JSON.stringify(value).replace(
    NON_ASCII,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/**
 * A duration in µs with one decimal, as JSON: `12.3`, `4`. Formatted from integer tenths — a
 * float's shortest decimal form is a visible share of a line's cost.
 */
function micros(value: number): string {
  const tenths = Math.round(value * 10)
  if (!Number.isSafeInteger(tenths)) return num(value)
  const sign = tenths < 0 ? '-' : ''
  const abs = Math.abs(tenths)
  const whole = Math.floor(abs / 10)
  const digit = abs % 10
  return digit === 0 ? `${sign}${whole}` : `${sign}${whole}.${digit}`
}

/** A JSON number; like pino, `null` for NaN and infinities. */
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null'
}
