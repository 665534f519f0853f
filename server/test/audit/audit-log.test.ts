import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pino } from 'pino'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { RECORDS } from './records.js'

/** Collects the lines written to it; the audit log writes decision lines in batches. */
function sink() {
  const lines: string[] = []
  const writes: string[] = []
  return {
    lines,
    writes,
    write(chunk: string) {
      writes.push(chunk)
      for (const line of chunk.split(/(?<=\n)/)) lines.push(line)
    },
  }
}

test('a decision line is the line pino writes for the same record, field for field', async () => {
  const ours = sink()
  const audit = createAuditLog({ nodeId: 'node-"a"', stream: ours })
  const theirs = sink()
  const reference = pino(
    {
      base: { node: 'node-"a"', log: 'audit' },
      timestamp: pino.stdTimeFunctions.epochTime,
      messageKey: 'event',
    },
    theirs,
  )
  for (const record of RECORDS) {
    audit.decision(record)
    reference.info(record, 'decision')
  }
  await audit.flush()
  assert.equal(ours.lines.length, RECORDS.length)
  for (let i = 0; i < RECORDS.length; i++) {
    const line = ours.lines[i]!
    assert.ok(line.endsWith('}\n'), 'one line each')
    const parsed = JSON.parse(line) as Record<string, unknown>
    const expected = JSON.parse(theirs.lines[i]!) as Record<string, unknown>
    assert.ok(Math.abs((parsed['time'] as number) - (expected['time'] as number)) < 1000)
    // Decision lines are pure ASCII: where pino writes a non-ASCII character (or leaves a lone
    // surrogate, then lost to U+FFFD on the way to the file) the audit line escapes it; the JSON
    // is the same. Byte for byte wherever pino's line is ASCII too.
    assert.match(line, /^[\x20-\x7e]*\n$/, 'pure printable ASCII')
    if (/^[\x00-\x7f]*$/.test(theirs.lines[i]!)) {
      const untimed = (l: string): string => l.replace(/"time":\d+/, '"time":0')
      assert.equal(untimed(line), untimed(theirs.lines[i]!), 'byte for byte')
    }
    // Same keys in the same order, same values.
    assert.deepEqual(
      Object.entries({ ...parsed, time: 0 }),
      Object.entries({ ...expected, time: 0 }),
    )
  }
})

test('an admin change and the decisions around it keep their order', async () => {
  const lines = sink()
  const audit = createAuditLog({ nodeId: 'node-a', stream: lines })
  audit.decision(RECORDS[0]!)
  audit.adminChange({ actor: 'apikey', change: 'role.put', versionBefore: 7, versionAfter: 8 })
  audit.decision(RECORDS[1]!)
  await audit.flush()
  const events = lines.lines.map((l) => (JSON.parse(l) as { event: string }).event)
  assert.deepEqual(events, ['decision', 'admin_change', 'decision'])
})

test('decision lines are written in batches, and a quiet log still goes out by itself', async () => {
  const out = sink()
  const many = 400
  // Resolves from the write itself: the timer's flush of the last partial batch, no polling.
  const allWritten = new Promise<void>((resolve) => {
    const write = out.write
    out.write = (chunk: string) => {
      write(chunk)
      if (out.lines.length >= many) resolve()
    }
  })
  const audit = createAuditLog({ nodeId: 'node-a', stream: out })
  for (let i = 0; i < many; i++) audit.decision({ ...RECORDS[0]!, resource: `doc/${i}` })
  // ~16 KB at a time: far fewer writes than lines.
  assert.ok(out.writes.length > 0 && out.writes.length < many / 10, `${out.writes.length} writes`)
  assert.ok(out.lines.length < many, 'the last partial batch waits for its timer')
  await allWritten
  const resources = out.lines.map((l) => (JSON.parse(l) as { resource: string }).resource)
  assert.deepEqual(
    resources,
    Array.from({ length: many }, (_, i) => `doc/${i}`),
  )
})

test('durations are written in µs with one decimal', async () => {
  const out = sink()
  const audit = createAuditLog({ nodeId: 'node-a', stream: out })
  for (const durationUs of [3.4, 12, 0.05, 1234.56, Number.NaN]) {
    audit.decision({ ...RECORDS[0]!, durationUs })
  }
  await audit.flush()
  assert.deepEqual(
    out.lines.map((l) => l.match(/"durationUs":([^,}]+)/)![1]),
    ['3.4', '12', '0.1', '1234.6', 'null'],
  )
})

test('each line names its own principal, even when a token id comes back with other fields', async () => {
  const out = sink()
  const audit = createAuditLog({ nodeId: 'node-a', stream: out })
  const base = RECORDS[0]!
  audit.decision(base)
  audit.decision({ ...base, sub: 'mallory', transport: 'http' })
  audit.decision({ ...base, sid: undefined, jti: undefined, action: 'doc:read' })
  audit.decision(base)
  await audit.flush()
  const parsed = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  assert.deepEqual(
    parsed.map((p) => [p['transport'], p['sub'], p['sid'], p['jti'], p['action']]),
    [
      ['socket', 'alice', 'sid-1', 'jti-1', 'doc:write'],
      ['http', 'mallory', 'sid-1', 'jti-1', 'doc:write'],
      ['socket', 'alice', undefined, undefined, 'doc:read'],
      ['socket', 'alice', 'sid-1', 'jti-1', 'doc:write'],
    ],
  )
})

test('an audit file holds the same text a decision carried, non-ASCII included', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-audit-'))
  try {
    const file = join(dir, 'audit.log')
    const audit = createAuditLog({ nodeId: 'nœud-1', file })
    const resource = 'doc/é/😀/\u2028'
    audit.decision({ ...RECORDS[0]!, resource })
    audit.adminChange({ actor: 'sub:zoë', change: 'role.put', versionBefore: 1, versionAfter: 2 })
    await audit.flush()
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    const [decision, change] = lines.map((l) => JSON.parse(l) as Record<string, unknown>)
    assert.equal(decision!['resource'], resource)
    assert.equal(decision!['node'], 'nœud-1')
    assert.equal(change!['actor'], 'sub:zoë')
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
