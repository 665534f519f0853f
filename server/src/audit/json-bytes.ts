/**
 * Writing pure-ASCII JSON straight into a byte buffer, for the audit log's decision lines. Every
 * `put*` writes at `pos` and returns the position after what it wrote; the caller has made room
 * (see `DecisionLines.append` for the bound). Strings are copied by plain loops over their
 * characters: a call into the runtime (`Buffer#latin1Write`) costs more than a short copy.
 *
 * @module
 */

const QUOTE = 0x22
const ZERO = 0x30

/** DEL and non-ASCII UTF-16 units, which `asciiJson` escapes (JSON itself would not). */
const NON_ASCII = /[\u007f-\uffff]/g

/** `JSON.stringify`, with every non-ASCII UTF-16 unit written as `\uXXXX` (still the same JSON). */
export function asciiJson(value: string): string {
  return JSON.stringify(value).replace(
    NON_ASCII,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}

/** A JSON number; like pino, `null` for NaN and infinities. */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null'
}

/** The bytes of text known to be ASCII (a fragment encoded once and kept). */
export function latin1(ascii: string): Uint8Array {
  return Buffer.from(ascii, 'latin1')
}

/** Bytes encoded once and kept: `set` copies them with one memmove, far faster than a loop. */
export function putBytes(buf: Uint8Array, pos: number, bytes: Uint8Array): number {
  buf.set(bytes, pos)
  return pos + bytes.length
}

/** Text known to be ASCII, one byte per character. */
export function putAscii(buf: Uint8Array, pos: number, ascii: string): number {
  const n = ascii.length
  for (let i = 0; i < n; i++) buf[pos + i] = ascii.charCodeAt(i)
  return pos + n
}

/**
 * `value` as a JSON string. Most values (resource names) are printable ASCII with no quote or
 * backslash and are copied as they are; anything else is escaped by `asciiJson`. Takes at most
 * `6 × value.length + 2` bytes.
 */
export function putJsonString(buf: Uint8Array, pos: number, value: string): number {
  const n = value.length
  buf[pos] = QUOTE
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i)
    // Printable ASCII but `"` (0x22) and `\` (0x5c).
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c)
      return putAscii(buf, pos, asciiJson(value))
    buf[pos + 1 + i] = c
  }
  buf[pos + 1 + n] = QUOTE
  return pos + n + 2
}

/**
 * A duration in µs with one decimal, as JSON: `12.3`, `4`, and like pino `null` when not finite.
 * Written from integer tenths: a float's shortest decimal form costs more than the line's copies.
 */
export function putMicros(buf: Uint8Array, pos: number, value: number): number {
  let tenths = Math.round(value * 10)
  if (!Number.isSafeInteger(tenths)) {
    return putAscii(buf, pos, jsonNumber(value))
  }
  if (tenths < 0) {
    buf[pos++] = 0x2d // '-'
    tenths = -tenths
  }
  const digit = tenths % 10
  pos = putUint(buf, pos, (tenths - digit) / 10)
  if (digit === 0) return pos
  buf[pos] = 0x2e // '.'
  buf[pos + 1] = ZERO + digit
  return pos + 2
}

/** A non-negative safe integer's decimal digits. */
function putUint(buf: Uint8Array, pos: number, value: number): number {
  let digits = 1
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++
  let rest = value
  for (let i = pos + digits - 1; i >= pos; i--) {
    const next = Math.floor(rest / 10)
    buf[i] = ZERO + (rest - next * 10)
    rest = next
  }
  return pos + digits
}
