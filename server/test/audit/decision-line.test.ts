import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CHUNK_BYTES, DecisionLines } from '../../src/audit/decision-line.js'
import { putJsonString, putMicros } from '../../src/audit/json-bytes.js'
import { RECORDS } from './records.js'

const RECORD = RECORDS[0]!

/** The records of encoded lines, in order (one chunk's or several's). */
function parse(...chunks: Buffer[]): Record<string, unknown>[] {
  return chunks
    .map((c) => c.toString('latin1'))
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

function encodeString(value: string): string {
  const buf = Buffer.alloc(value.length * 6 + 2)
  const end = putJsonString(buf, 0, value)
  return buf.toString('latin1', 0, end)
}

test('a JSON string is the same JSON as JSON.stringify, in printable ASCII only', () => {
  for (const value of [
    '',
    'doc/42',
    'say "hi"',
    'back\\slash',
    'tab\tnew\nline\u0001',
    'del\u007f',
    'é and 😀 and \u2028',
    'lone \ud800 and \udfff surrogates',
  ]) {
    const text = encodeString(value)
    assert.match(text, /^"[\x20-\x7e]*"$/, `printable ASCII for ${JSON.stringify(value)}`)
    assert.equal(JSON.parse(text), value)
  }
})

test('a duration is written in µs with one decimal, and null when not finite', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [3.4, '3.4'],
    [12, '12'],
    [0.05, '0.1'],
    [1234.56, '1234.6'],
    [-2.5, '-2.5'],
    [10, '10'],
    [99.96, '100'],
    [Number.NaN, 'null'],
    [Number.POSITIVE_INFINITY, 'null'],
    [1e300, '1e+300'],
  ]
  for (const [value, expected] of cases) {
    const buf = Buffer.alloc(32)
    const end = putMicros(buf, 0, value)
    assert.equal(buf.toString('latin1', 0, end), expected, String(value))
  }
})

test('a record that carries its decision time is logged at that time', () => {
  const chunks: Buffer[] = []
  const lines = new DecisionLines(30, 'node-a', (c) => chunks.push(c))
  lines.append({ ...RECORD, time: 1_700_000_000_123 })
  lines.append({ ...RECORD, time: 1_700_000_000_124 })
  lines.append({ ...RECORD, time: 5 })
  lines.append({ ...RECORD, time: 1_700_000_000_124 })
  const times = parse(lines.take()!).map((p) => p['time'])
  assert.deepEqual(times, [1_700_000_000_123, 1_700_000_000_124, 5, 1_700_000_000_124])
  assert.equal(chunks.length, 0, 'nothing handed over before the buffer fills')
})

test("a taken chunk is the writer's: later lines never overwrite it until it is recycled", () => {
  const lines = new DecisionLines(30, 'node-a', () => {})
  lines.append({ ...RECORD, resource: 'doc/first' })
  const first = lines.take()!
  const before = first.toString('latin1')
  lines.append({ ...RECORD, resource: 'doc/second' })
  lines.append({ ...RECORD, resource: 'doc/third' })
  assert.equal(first.toString('latin1'), before)
  const second = lines.take()!
  assert.deepEqual(
    parse(second).map((p) => p['resource']),
    ['doc/second', 'doc/third'],
  )
  assert.notEqual(second.buffer, first.buffer, 'a chunk not yet recycled is never reused')
  assert.equal(lines.take(), undefined, 'then nothing is pending')
})

test("a recycled chunk's buffer is encoded into again; an oversized one is not kept", () => {
  const lines = new DecisionLines(30, 'node-a', () => {})
  lines.append({ ...RECORD, resource: 'doc/first' })
  lines.take() // the buffer in use from here on is a fresh one…
  lines.append({ ...RECORD, resource: 'doc/second' })
  const written = lines.take()!
  lines.recycle(written) // …and this one is next, once the current one is handed over
  lines.append({ ...RECORD, resource: 'doc/third' })
  lines.take()
  lines.append({ ...RECORD, resource: 'doc/fourth' })
  const reused = lines.take()!
  assert.equal(reused.buffer, written.buffer, 'the written buffer came back')
  assert.deepEqual(
    parse(reused).map((p) => p['resource']),
    ['doc/fourth'],
  )

  const huge = new DecisionLines(30, 'node-a', () => {})
  huge.append({ ...RECORD, resource: 'x'.repeat(CHUNK_BYTES) })
  const big = huge.take()!
  assert.ok(big.buffer.byteLength > CHUNK_BYTES)
  huge.recycle(big)
  huge.append(RECORD)
  huge.take()
  huge.append(RECORD)
  assert.notEqual(huge.take()!.buffer, big.buffer, 'a one-off large buffer is let go')
})

test('a full buffer is handed over whole, and a line longer than a buffer still goes out intact', () => {
  const handed: Buffer[] = []
  const lines = new DecisionLines(30, 'node-a', (c) => handed.push(c))
  let count = 0
  while (handed.length === 0) {
    lines.append({ ...RECORD, resource: `doc/${count}` })
    count++
  }
  const huge = 'é'.repeat(CHUNK_BYTES)
  lines.append({ ...RECORD, resource: huge })
  lines.append(RECORD)
  const parsed = parse(...handed, lines.take()!)
  assert.ok(handed[0]!.length <= CHUNK_BYTES, 'a buffer is at most a chunk')
  assert.equal(parsed.length, count + 2, 'every line once, none split or lost')
  assert.deepEqual(
    parsed.slice(0, count).map((p) => p['resource']),
    Array.from({ length: count }, (_, i) => `doc/${i}`),
  )
  assert.equal(parsed[count]!['resource'], huge)
  assert.equal(parsed[count + 1]!['resource'], 'doc/42')
})

test('a new policy version and a new outcome change only their own lines', () => {
  const lines = new DecisionLines(30, 'node-a', () => {})
  lines.append(RECORD)
  lines.append({ ...RECORD, version: 8, allow: false, reason: 'denied_by_rule', rule: 'r-1' })
  lines.append(RECORD)
  const parsed = parse(lines.take()!)
  assert.deepEqual(
    parsed.map((p) => [p['version'], p['allow'], p['reason'], p['rule']]),
    [
      [7, true, 'allowed_by_role', undefined],
      [8, false, 'denied_by_rule', 'r-1'],
      [7, true, 'allowed_by_role', undefined],
    ],
  )
})

test('an empty action or reason, first or after others, is still written', () => {
  const lines = new DecisionLines(30, 'node-a', () => {})
  lines.append({ ...RECORD, action: '', reason: '', allow: false })
  lines.append(RECORD)
  lines.append({ ...RECORD, action: '', reason: '', allow: false })
  const parsed = parse(lines.take()!)
  assert.deepEqual(
    parsed.map((p) => [p['action'], p['reason'], p['allow'], p['resource']]),
    [
      ['', '', false, 'doc/42'],
      ['doc:write', 'allowed_by_role', true, 'doc/42'],
      ['', '', false, 'doc/42'],
    ],
  )
})
