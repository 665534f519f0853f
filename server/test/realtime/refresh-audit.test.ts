import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import type { AuditEvent } from '../../src/audit/audit-log.js'
import { claimsOf, createClients, mint, startRealtimeNode, type RealtimeNode } from './helpers.js'

/**
 * Issue #13, item 14: every `vigil:refresh` attempt leaves one audit line — the refused swap of a
 * socket to another user's token most of all — and an attempt without a payload is still acked.
 */

const clients = createClients()
let node: RealtimeNode
const seen: AuditEvent[] = []

before(async () => {
  node = await startRealtimeNode()
  node.enforcer.audit.tap((record) => seen.push(record))
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** The refresh lines of one session, in order. */
function refreshLines(sid: string): Extract<AuditEvent, { event: 'decision' }>[] {
  return seen.filter(
    (r): r is Extract<AuditEvent, { event: 'decision' }> =>
      r.event === 'decision' && r.action === 'vigil:refresh' && r.sid === sid,
  )
}

test('a vigil:refresh with no payload at all is acked invalid_payload', async () => {
  const alice = await mint(node, 'alice')
  const { socket } = await clients.connect(node.url, alice.access_token)
  // The frame 421["vigil:refresh"]: only an ack id, no payload argument.
  const ack = await socket.timeout(2000).emitWithAck('vigil:refresh')
  assert.equal(ack.error.code, 'invalid_payload')
  assert.equal(socket.connected, true)
})

test('each refresh attempt is audited once: allowed, refused swap, bad token, no payload', async () => {
  const alice = await mint(node, 'alice')
  const { socket } = await clients.connect(node.url, alice.access_token)
  const sid = alice.session_id
  const bob = await mint(node, 'bob')

  const swap = await socket.emitWithAck('vigil:refresh', { token: bob.access_token })
  assert.equal(swap.error.code, 'forbidden')
  let lines = refreshLines(sid)
  assert.equal(lines.length, 1, 'one line for the refused swap')
  assert.equal(lines[0]!.allow, false)
  assert.equal(lines[0]!.reason, 'session_mismatch')
  assert.equal(lines[0]!.sub, 'alice', 'the line names the socket it was tried on')
  assert.equal(lines[0]!.jti, claimsOf(alice.access_token).jti)
  assert.equal(lines[0]!.transport, 'socket')

  assert.equal(
    (await socket.emitWithAck('vigil:refresh', { token: 'garbage' })).error.code,
    'token_invalid',
  )
  assert.equal((await socket.emitWithAck('vigil:refresh')).error.code, 'invalid_payload')
  const again = await mint(node, 'alice')
  const otherSession = await socket.emitWithAck('vigil:refresh', { token: again.access_token })
  assert.equal(otherSession.error.code, 'forbidden')

  lines = refreshLines(sid)
  assert.deepEqual(
    lines.map((l) => [l.allow, l.reason]),
    [
      [false, 'session_mismatch'],
      [false, 'token_invalid'],
      [false, 'invalid_payload'],
      [false, 'session_mismatch'],
    ],
  )

  // A rotation of alice's own session is allowed, and its line names the new token.
  const rotated = await node.api('/v1/token', {
    method: 'POST',
    auth: null,
    json: { grant_type: 'refresh_token', refresh_token: alice.refresh_token },
  })
  assert.equal(rotated.status, 200)
  const next = (await rotated.json()) as { access_token: string }
  assert.equal((await socket.emitWithAck('vigil:refresh', { token: next.access_token })).ok, true)
  lines = refreshLines(sid)
  assert.equal(lines.length, 5)
  assert.equal(lines[4]!.allow, true)
  assert.equal(lines[4]!.reason, 'refreshed')
  assert.equal(lines[4]!.jti, claimsOf(next.access_token).jti)
  // No token in any of them.
  const text = JSON.stringify(lines)
  for (const token of [
    alice.access_token,
    bob.access_token,
    again.access_token,
    next.access_token,
  ]) {
    assert.equal(text.includes(token), false)
  }
})

test('the refresh lines reach the audit file as decision lines', async () => {
  const alice = await mint(node, 'alice')
  const { socket } = await clients.connect(node.url, alice.access_token)
  await socket.emitWithAck('vigil:refresh', { token: 'garbage' })
  await node.enforcer.audit.flush()
  const written = node.audit.lines
    .map((l) => JSON.parse(l))
    .filter((l) => l.action === 'vigil:refresh' && l.sid === alice.session_id)
  assert.equal(written.length, 1)
  assert.equal(written[0].event, 'decision')
  assert.equal(written[0].reason, 'token_invalid')
  assert.equal(written[0].resource, 'socket')
})
