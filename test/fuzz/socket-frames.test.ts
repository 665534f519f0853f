/**
 * A raw engine.io/socket.io frame fuzzer against a real node. An authenticated socket, opened by
 * hand over a plain WebSocket, sends random and mutated packets: packet types, namespaces, ack
 * ids, binary attachment counts, deep nesting, argument counts, sizes up to and past the 64 KB
 * limit, garbage. After each frame a probe event must be acked, and after each batch a bystander
 * on the socket.io client must get a correct `doc:edit` answer. The seed is fixed; set
 * VIGIL_FUZZ_SEED to replay another run.
 */

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { after, before, test } from 'node:test'
import fc from 'fast-check'
import { Decoder, PacketType, type Packet } from 'socket.io-parser'
import type { Socket } from 'socket.io-client'
import { STATUS } from '../../server/src/http/errors.js'
import {
  createClients,
  edit,
  mint,
  startRealtimeNode,
  type RealtimeNode,
} from '../../server/test/realtime/helpers.js'

const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 13)
const BATCHES = 12
const PER_BATCH = 25
console.log(`socket-frames: VIGIL_FUZZ_SEED=${SEED}`)

/** The little of `ws` this file uses; the package ships no types and is only a transitive dependency. */
interface RawSocket {
  readyState: number
  send(data: string | Uint8Array): void
  close(): void
  on(event: 'message', listener: (data: Buffer, binary: boolean) => void): void
  on(event: 'close', listener: () => void): void
}
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => RawSocket

const KNOWN_CODES = new Set(Object.keys(STATUS))
/** Probe ack ids live far above any the fuzzer picks, so the two never collide. */
let nextProbe = 900_000_000

/** One hand-driven socket.io connection: its acks so far, and whether the server closed it. */
interface Raw {
  ws: RawSocket
  acks: Map<number, unknown[]>
  closed: boolean
  /** Resolves on the next ack or close, whichever comes first. */
  changed(): Promise<void>
}

const clients = createClients()
let node: RealtimeNode
let token: string
let bystander: Socket

before(async () => {
  node = await startRealtimeNode()
  token = (await mint(node, 'alice')).access_token
  bystander = (await clients.connect(node.url, (await mint(node, 'carol')).access_token)).socket
})

after(async () => {
  clients.closeAll()
  await node.close()
})

/** Opens a raw websocket and does the engine.io open and socket.io connect by hand. */
async function openRaw(): Promise<Raw> {
  const ws = new WebSocket(`${node.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`)
  const acks = new Map<number, unknown[]>()
  let wake: () => void = () => {}
  let connected: (frame: string) => void = () => {}
  const raw: Raw = {
    ws,
    acks,
    closed: false,
    changed: () => new Promise<void>((resolve) => (wake = resolve)),
  }
  const connect = new Promise<string>((resolve) => (connected = resolve))
  ws.on('message', (data, binary) => {
    if (binary) return
    const frame = data.toString()
    if (frame === '2') return ws.send('3')
    if (frame.startsWith('0')) return ws.send(`40${JSON.stringify({ token })}`)
    if (frame.startsWith('40') || frame.startsWith('44')) return connected(frame)
    const ack = /^43(\d+)(\[.*)$/s.exec(frame)
    if (ack) {
      acks.set(Number(ack[1]), JSON.parse(ack[2]!))
      wake()
    }
  })
  ws.on('close', () => {
    raw.closed = true
    connected('closed')
    wake()
  })
  const answer = await connect
  assert.match(answer, /^40\{"sid":/, `the fuzz socket was not let in: ${answer}`)
  return raw
}

/** Sends an acked `doc:edit` and waits for its ack or the close; true when it was acked. */
async function probe(raw: Raw): Promise<boolean> {
  const id = nextProbe++
  raw.ws.send(`42${id}["doc:edit",{"docId":"probe","text":""}]`)
  while (!raw.acks.has(id) && !raw.closed) await raw.changed()
  if (raw.closed) return false
  assertAck(raw.acks.get(id)!, 'probe')
  return true
}

/** An ack is the handler's `{ok: …}` or a refusal that names a known code. */
function assertAck(args: unknown[], context: string): void {
  const body = args[0] as { ok?: unknown; error?: { code?: unknown } } | undefined
  const coded = typeof body?.error?.code === 'string' && KNOWN_CODES.has(body.error.code)
  assert.ok(coded || body?.ok === true, `not a coded ack: ${JSON.stringify(args)} (${context})`)
}

/** The ack id the server owes for this frame: socket.io's own decoder tells what it will see. */
function owedAck(frame: string, attachments: Uint8Array[]): number | undefined {
  if (!frame.startsWith('4')) return undefined
  let packet: Packet | undefined
  const decoder = new Decoder()
  decoder.on('decoded', (p: Packet) => (packet = p))
  try {
    decoder.add(frame.slice(1))
    for (const a of attachments) decoder.add(a)
  } catch {
    return undefined
  }
  if (packet === undefined || packet.nsp !== '/' || typeof packet.id !== 'number') return undefined
  const event = packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT
  return event ? packet.id : undefined
}

const eventName = fc.oneof(
  fc.constantFrom('doc:edit', 'doc:delete', 'vigil:refresh', 'vigil:capabilities', '__proto__'),
  fc.constantFrom('constructor', '', 'x'.repeat(200), 'é'.repeat(40_000)),
  fc.anything({ maxDepth: 1 }),
)
const docEdit = fc.record({ docId: fc.string({ maxLength: 5 }), text: fc.string({ maxLength: 5 }) })
const args = fc.array(fc.oneof(docEdit, fc.anything({ maxDepth: 2 })), { maxLength: 4 })
const nested = fc
  .integer({ min: 10, max: 5_000 })
  .map((depth) => `["doc:edit",${'['.repeat(depth)}${']'.repeat(depth)}]`)
const padded = fc
  .integer({ min: 60_000, max: 70_000 })
  .map((size) => JSON.stringify(['doc:edit', { docId: '1', text: 'x'.repeat(size) }]))
const payload = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(eventName, args).map(([e, a]) => JSON.stringify([e, ...a])) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: padded },
  { weight: 1, arbitrary: fc.json({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
)

/** Mostly `usual`, sometimes one of `rare`: most frames should get past the parser. */
const often = (usual: string, ...rare: string[]) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(usual) },
    { weight: 1, arbitrary: fc.constantFrom(...rare) },
  )

/** A frame as parts, so most of them parse far enough to reach the guard. */
const frame = fc
  .record({
    engine: often('4', '0', '1', '2', '3', '5', '6', 'x', ''),
    type: often('2', '5', '3', '0', '1', '4', '6', '7', 'z'),
    attachments: often('', '0-', '1-', '2-', '-1-', '99999999-', 'x-'),
    sendAttachments: fc.boolean(),
    nsp: often('', '/,', '/admin,', '/vigil,', '/é\u0000,', '/x'),
    id: fc.oneof(
      fc.constant(''),
      fc.integer({ min: 0, max: 1_000 }).map(String),
      fc.constantFrom('-1', '1e3', '99999999999999999999', '0x1f'),
    ),
    payload,
  })
  .map((f) => {
    const text = f.engine + f.type + f.attachments + f.nsp + f.id + f.payload
    const count = Number.parseInt(f.attachments, 10)
    const binary =
      f.sendAttachments && count > 0 && count < 4
        ? Array.from({ length: count }, (_, i) => new Uint8Array([4, i, 255]))
        : []
    return { text, binary }
  })

const garbage = fc
  .string({ unit: 'binary', maxLength: 200 })
  .map((text) => ({ text, binary: [] as Uint8Array[] }))

test('random and mutated socket.io frames end in a coded ack or a closed connection, and a bystander is served throughout', async () => {
  const batches = fc.sample(
    fc.array(fc.oneof({ weight: 9, arbitrary: frame }, { weight: 1, arbitrary: garbage }), {
      minLength: PER_BATCH,
      maxLength: PER_BATCH,
    }),
    { seed: SEED, numRuns: BATCHES },
  )
  let raw = await openRaw()
  let closes = 0
  let acked = 0
  for (const [b, batch] of batches.entries()) {
    for (const [f, { text, binary }] of batch.entries()) {
      const context = `batch ${b} frame ${f}: ${text.slice(0, 120)}`
      const owed = owedAck(text, binary)
      raw.ws.send(text)
      for (const attachment of binary) raw.ws.send(attachment)
      // Two probes: the guard decides asynchronously, so the owed ack may trail the first one.
      const alive = (await probe(raw)) && (await probe(raw))
      if (alive && owed !== undefined) {
        assert.ok(raw.acks.has(owed), `no ack for id ${owed}: ${context}`)
        assertAck(raw.acks.get(owed)!, context)
        acked += 1
      }
      if (!alive) {
        closes += 1
        raw = await openRaw()
      }
      raw.acks.clear()
    }
    assert.deepEqual(await edit(bystander, 'bystander', 'hi'), {
      ok: true,
      data: { docId: 'bystander', length: 2 },
    })
  }
  raw.ws.close()
  console.log(
    `socket-frames: ${BATCHES * PER_BATCH} frames, ${acked} owed acks checked, ${closes} closed connections`,
  )
  assert.equal(bystander.connected, true)
})

test(
  'an acked frame with no event at all (421) is answered invalid_payload, not left hanging',
  { timeout: 10_000 },
  async () => {
    const raw = await openRaw()
    raw.ws.send('421')
    while (!raw.acks.has(1) && !raw.closed) await raw.changed()
    assert.equal(raw.closed, false)
    const [body] = raw.acks.get(1) as [{ error: { code: string } }]
    assert.equal(body.error.code, 'invalid_payload')
    assert.equal(await probe(raw), true)
    raw.ws.close()
  },
)
