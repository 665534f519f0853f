import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { createClients, edit, mint, once, startRealtimeNode, type RealtimeNode } from './helpers.js'

const clients = createClients()
let node: RealtimeNode

before(async () => {
  node = await startRealtimeNode({
    realtime: { rateLimit: { perSecond: 5, burst: 5, floodRefusals: 20 } },
  })
})

after(async () => {
  clients.closeAll()
  await node.close()
})

test('a burst past the limit is refused with rate_limited and never reaches the handler', async () => {
  const { socket } = await clients.connect(node.url, (await mint(node, 'alice')).access_token)
  const before = node.counts['doc:edit']
  const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => edit(socket, `burst-${i}`)))
  const ok = acks.filter((a) => a.ok === true)
  const limited = acks.filter((a) => a.error?.code === 'rate_limited')
  assert.equal(ok.length, 5)
  assert.equal(limited.length, 5)
  assert.equal(node.counts['doc:edit'] - before, 5)
  assert.equal(socket.connected, true, 'a few refusals are not a flood')
})

test('a socket that keeps flooding after being refused is disconnected by the server', async () => {
  const { socket } = await clients.connect(node.url, (await mint(node, 'carol')).access_token)
  const closed = once(socket, 'disconnect')
  // 5 pass on the burst, then 20 refusals make a flood; the client rejects the acks still
  // pending when the server cuts it off.
  const acks = Array.from({ length: 40 }, (_, i) => edit(socket, `flood-${i}`).catch(() => null))
  const [reason] = await closed
  assert.equal(reason, 'io server disconnect')
  const answered = (await Promise.all(acks)).filter((a) => a !== null)
  assert.ok(answered.length < 40, 'the server stopped answering once it cut the flood off')
  assert.ok(answered.filter((a) => a.ok).length <= 5)
  // Other sockets of the node are unaffected.
  const { socket: other } = await clients.connect(
    node.url,
    (await mint(node, 'alice')).access_token,
  )
  assert.equal((await edit(other)).ok, true)
})
