/**
 * What the CLI prints is partly the enforcer's data (subjects, session ids, reasons, messages),
 * and an admin's terminal obeys escape sequences: a subject holding `ESC [2J` would clear it, one
 * holding a newline would forge a line, a bidi override would reorder the row. Everything the
 * CLI writes passes through here, so nothing non-printable reaches the terminal raw — whatever
 * an older node or another writer put in the store.
 *
 * @module
 */

/** Control, format, surrogate and line/paragraph separator code points. */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu

/**
 * One line for a human: every non-printable character, newlines and tabs included, is shown as
 * `\x1b` or `\u{200b}`.
 *
 * @example
 * ```ts
 * printableLine('eve\u001b[2J') // 'eve\\x1b[2J'
 * ```
 */
export function printableLine(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.codePointAt(0)!
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`
  })
}

/**
 * Text the CLI composed, which may span lines on purpose: each line is escaped as by
 * `printableLine`. Data that must not start a line of its own (a table cell) is escaped with
 * `printableLine` before it goes in.
 */
export function printableText(text: string): string {
  return text.split('\n').map(printableLine).join('\n')
}

/**
 * A value as indented JSON that a terminal shows as is: JSON.stringify already escapes C0
 * controls and lone surrogates, but leaves DEL, C1 controls and format characters raw; those can
 * only be inside strings, where `\uXXXX` keeps the JSON valid and equal.
 *
 * @example
 * ```ts
 * printableJson({ sub: 'a\u202eb' }) // '{\n  "sub": "a\\u202eb"\n}'
 * ```
 */
export function printableJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? 'null'
  return text.replace(UNPRINTABLE, (char) => {
    if (char === '\n') return char
    // JSON escapes UTF-16 units: an astral format character (U+E0001) takes two.
    let escaped = ''
    for (let i = 0; i < char.length; i++) {
      escaped += `\\u${char.charCodeAt(i).toString(16).padStart(4, '0')}`
    }
    return escaped
  })
}
