import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createServiceClient } from '@vigil-enforcer/client/service'
import { VigilError } from '@vigil-enforcer/client/protocol'
import { TEST_API_KEY } from '../helpers/enforcer.js'
import { toPolicy } from '../../src/policy/state.js'
import { expectError, expectJson } from './helpers.js'
import {
  call,
  createClients,
  mint,
  once,
  startRealtimeNode,
  untilVersion,
  type RealtimeNode,
} from '../realtime/helpers.js'

const revokeSession = (session: string) => ({
  type: 'revoke',
  target: { kind: 'session', session },
  reason: 'incident 7',
})

describe('batch policy changes', () => {
  let node: RealtimeNode
  const clients = createClients()

  before(async () => {
    node = await startRealtimeNode()
  })
  after(async () => {
    clients.closeAll()
    await node.close()
  })

  const version = async (): Promise<number> => (await node.enforcer.store.load()).version
  const post = (json: unknown) => node.api('/v1/policy/changes', { method: 'POST', json })

  it('applies {changes} as one version and one log entry, and audits it once', async () => {
    const v0 = await version()
    const res = await post({
      changes: [
        { type: 'subject.roles', subject: 'dora', roles: ['viewer'] },
        { type: 'subject.roles', subject: 'erin', roles: ['editor'] },
        { type: 'revoke', target: { kind: 'subject', subject: 'mallory' } },
      ],
    })
    const body = await expectJson<{ version: number; changes: number }>(res)
    assert.equal(body.version, v0 + 1)
    assert.equal(body.changes, 3)
    const log = await node.enforcer.store.readLog(v0, body.version)
    assert.equal(log?.length, 1)
    assert.equal(log?.[0]?.change.type, 'batch')
    const policy = toPolicy((await node.enforcer.store.load()).policy)
    assert.deepEqual(policy.bindings['dora'], ['viewer'])
    assert.deepEqual(policy.bindings['erin'], ['editor'])
    assert.ok(policy.revocations.subjects['mallory'])
  })

  it('one change that does not apply refuses the whole batch, naming its index and field', async () => {
    const v0 = await version()
    const res = await post({
      changes: [
        { type: 'subject.roles', subject: 'frank', roles: ['viewer'] },
        { type: 'subject.roles', subject: 'gina', roles: ['viewer', 'no-such-role'] },
      ],
    })
    const error = await expectError(res, 400, 'invalid_policy')
    assert.deepEqual(error.details, [
      { path: 'changes.1.roles.1', message: 'unknown role "no-such-role"' },
    ])
    assert.equal(await version(), v0, 'nothing was applied')
    const policy = toPolicy((await node.enforcer.store.load()).policy)
    assert.equal(policy.bindings['frank'], undefined)
  })

  it('a malformed change is refused by its path before anything runs', async () => {
    const v0 = await version()
    const res = await post({
      changes: [revokeSession('s-ok'), { type: 'revoke', target: { kind: 'session' } }],
    })
    const error = await expectError(res, 400, 'invalid_request')
    assert.ok(
      error.details?.some((d) => d.path === 'changes.1.target.session'),
      JSON.stringify(error.details),
    )
    assert.equal(await version(), v0)
  })

  it('refuses empty batches, more than 10,000 changes, nested batches and whole-document changes', async () => {
    const v0 = await version()
    await expectError(await post({ changes: [] }), 400, 'invalid_request')
    const many = Array.from({ length: 10_001 }, (_, i) => revokeSession(`s${i}`))
    const tooMany = await expectError(await post({ changes: many }), 400, 'invalid_request')
    assert.ok(
      tooMany.details?.some((d) => d.path === 'changes'),
      JSON.stringify(tooMany.details),
    )
    const nested = { type: 'batch', changes: [revokeSession('x')] }
    await expectError(await post({ changes: [nested] }), 400, 'invalid_request')
    const replace = { type: 'policy.replace', policy: {} }
    await expectError(await post({ changes: [replace] }), 400, 'invalid_request')
    await expectError(
      await post({ changes: [revokeSession('x')], extra: 1 }),
      400,
      'invalid_request',
    )
    assert.equal(await version(), v0)
  })

  it('the service client applies a batch and reports the refusal of a bad one with its code', async () => {
    const service = createServiceClient({ url: node.url, apiKey: TEST_API_KEY, transport: 'http' })
    try {
      const v0 = await version()
      const applied = await service.applyChanges([
        { type: 'subject.roles', subject: 'hank', roles: ['viewer'] },
        { type: 'revoke', target: { kind: 'session', session: 'svc-1' } },
      ])
      assert.equal(applied.version, v0 + 1)
      assert.equal(applied.changes, 2)
      await assert.rejects(
        service.applyChanges([{ type: 'subject.roles', subject: 'ivy', roles: ['ghost'] }]),
        (err: unknown) => err instanceof VigilError && err.code === 'invalid_policy',
      )
      await assert.rejects(service.applyChanges([]), TypeError)
    } finally {
      service.close()
    }
  })

  it('a batch of 5,000 session revocations reaches every one of its live sockets, once each', async () => {
    const N = 5_000
    const pairs = []
    for (let i = 0; i < N; i += 250) {
      pairs.push(
        ...(await Promise.all(Array.from({ length: 250 }, (_, j) => mint(node, `bulk${i + j}`)))),
      )
    }
    const sockets = []
    for (let i = 0; i < N; i += 250) {
      const batch = pairs.slice(i, i + 250)
      sockets.push(
        ...(await Promise.all(batch.map((p) => clients.connect(node.url, p.access_token)))),
      )
    }
    const counts = new Array<number>(N).fill(0)
    const revoked = sockets.map(({ socket }, i) => {
      socket.on('vigil:revoked', () => (counts[i] = counts[i]! + 1))
      return once(socket, 'vigil:revoked')
    })
    const { status, body } = await call(node, 'POST', '/v1/policy/changes', {
      changes: pairs.map((p) => revokeSession(p.session_id)),
    })
    assert.equal(status, 200, JSON.stringify(body))
    const events = await Promise.all(revoked)
    await untilVersion(node, body.version)
    for (const [event] of events) {
      assert.equal(event.reason, 'incident 7')
      assert.equal(event.version, body.version)
    }
    assert.ok(
      counts.every((n) => n === 1),
      'each socket was told once',
    )
    for (const { socket } of sockets) socket.close()
  })
})
