import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { Socket } from 'socket.io-client'
import { createAuditLog } from '../../src/audit/audit-log.js'
import { MAX_EVENT_NAME_LENGTH } from '../../src/realtime/event-name.js'
import { createMessageGuard } from '../../src/realtime/guard.js'
import { LineSink } from '../helpers/enforcer.js'
import { createClients, edit, mint, startRealtimeNode, type RealtimeNode } from './helpers.js'

/**
 * Issue #13, item 2: a user with no roles sent 64 KB frames whose event name was 32,000 × "é";
 * each refusal wrote a ~192 KB audit line, and every distinct name took a fragment in the audit
 * encoder's cache. Names are now capped, unmapped ones are audited truncated, and the encoder
 * keeps fragments only for the actions rules map to.
 */

const clients = createClients()
let node: RealtimeNode
let dave: Socket
let sid: string

/** Longer than any line these tests write, and far below what the old code wrote. */
const SMALL_LINE = 600

before(async () => {
  // The budget is not what is under test here: 400 messages pass it.
  node = await startRealtimeNode({ realtime: { rateLimit: { perSecond: 10_000, burst: 10_000 } } })
  // dave has no roles at all: an ordinary account, the reviewer's.
  const session = await mint(node, 'dave')
  sid = session.session_id
  dave = (await clients.connect(node.url, session.access_token)).socket
  // The handshake's line is written now, so the tests below count only their own.
  await node.enforcer.audit.flush()
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** dave's audit lines written since `from`, as raw text (flushed first). */
async function linesOf(from: number): Promise<string[]> {
  await node.enforcer.audit.flush()
  return node.audit.lines.slice(from).filter((l) => l.includes(`"sid":"${sid}"`))
}

test('an event name longer than the cap is refused with invalid_payload, audited in a small line', async () => {
  const from = node.audit.lines.length
  // 32,000 × "é" is 64,000 bytes of UTF-8: just under the 64 KB frame cap, as the reviewer sent it.
  const name = 'é'.repeat(32_000)
  const ack = await dave.timeout(3000).emitWithAck(name, { docId: '1' })
  assert.equal(ack.error.code, 'invalid_payload')
  assert.ok(ack.error.message.length < 200, 'the ack does not echo the name back')
  // Just past the cap, in plain ASCII.
  const over = 'x'.repeat(MAX_EVENT_NAME_LENGTH + 1)
  assert.equal((await dave.emitWithAck(over, {})).error.code, 'invalid_payload')

  const lines = await linesOf(from)
  assert.equal(lines.length, 2)
  for (const line of lines) {
    assert.ok(line.length < SMALL_LINE, `a ${line.length}-byte audit line`)
    const record = JSON.parse(line)
    assert.equal(record.reason, 'event_name_too_long')
    assert.equal(record.allow, false)
  }
  assert.equal(JSON.parse(lines[0]!).action, `${'é'.repeat(32)}…(32000 chars)`)
  assert.equal(JSON.parse(lines[1]!).action, `${'x'.repeat(32)}…(${over.length} chars)`)
  assert.equal(dave.connected, true)
})

test('many distinct long unmapped names leave small audit lines and no cached fragment each', async () => {
  const audit = node.enforcer.audit
  const cachedBefore = audit.cachedActions()
  const from = node.audit.lines.length
  const names = Array.from({ length: 400 }, (_, i) => `${'é'.repeat(120)}${i}`.slice(-120))
  assert.ok(names.every((n) => n.length <= MAX_EVENT_NAME_LENGTH))
  const acks = await Promise.all(names.map((n) => dave.emitWithAck(n, { docId: '1' })))
  assert.ok(acks.every((a) => a.error?.code === 'forbidden'))

  assert.equal(audit.cachedActions(), cachedBefore, 'no fragment was kept for any of them')
  const lines = await linesOf(from)
  assert.equal(lines.length, names.length, 'each refusal is still audited')
  for (const line of lines) {
    assert.ok(line.length < SMALL_LINE, `a ${line.length}-byte audit line`)
    const record = JSON.parse(line)
    assert.equal(record.reason, 'unmapped_event')
    assert.match(record.action, /^é{32}…\(120 chars\)$/)
  }
})

test('a short unmapped name is audited as it is', async () => {
  const from = node.audit.lines.length
  assert.equal((await dave.emitWithAck('doc:delete', {})).error.code, 'forbidden')
  const [line] = await linesOf(from)
  assert.equal(JSON.parse(line!).action, 'doc:delete')
})

test('the actions rules map to keep their fragment', async () => {
  const alice = (await clients.connect(node.url, (await mint(node, 'alice')).access_token)).socket
  const audit = node.enforcer.audit
  const before = audit.cachedActions()
  for (let i = 0; i < 5; i++) assert.equal((await edit(alice, `kept-${i}`)).ok, true)
  assert.equal(audit.cachedActions(), before, 'doc:write was kept from the start')
  assert.ok(before >= 1)
})

test('a rule whose event name is longer than the cap is a programming error', () => {
  const audit = createAuditLog({ nodeId: 'n', stream: new LineSink() })
  const name = 'e'.repeat(MAX_EVENT_NAME_LENGTH + 1)
  assert.throws(
    () =>
      createMessageGuard({
        authorizer: {} as never,
        audit,
        rules: { [name]: { action: 'doc:write', resource: 'doc/1' } },
        version: () => 0,
        onTerminal: () => {},
        onFlood: () => {},
      }),
    TypeError,
  )
})
