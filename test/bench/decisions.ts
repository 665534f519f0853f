import { fileURLToPath } from 'node:url'
import { createServiceClient, type ServiceClient } from '@vigil-enforcer/client/service'
import type { DecisionQuery } from '@vigil-enforcer/client/protocol'
import { cpuMs, startFixture } from './child.js'
import type { Bench, BenchRow } from './harness.js'
import { quantile, round } from './harness.js'

/**
 * Batch decision throughput for backend services: batches of 100 subject queries through the
 * service client, over the `/services` socket (`vigil:decide` with ack) and over
 * `POST /v1/decisions`. The enforcer is its own process; this process drives both transports
 * with a few batches in flight. The two take turns, round after round, so a noisy neighbour
 * weighs on both alike; each figure is the median over rounds. The server's CPU time per
 * decision is reported too: it does not depend on which side was the bottleneck.
 */

const MODES = ['socket', 'http'] as const
type Mode = (typeof MODES)[number]

const BATCH = 100
const INFLIGHT = 4
const SERVER = fileURLToPath(new URL('./fixtures/decisions-server.ts', import.meta.url))

interface Sample {
  perS: number
  /** Server CPU per decision, µs. */
  serverUs: number
}

function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )
}

async function measure(
  client: ServiceClient,
  pid: number | undefined,
  subjects: string[],
  seconds: number,
): Promise<Sample> {
  let next = 0
  const batch = (): DecisionQuery[] =>
    Array.from({ length: BATCH }, () => {
      const i = next++
      return { subject: subjects[i % subjects.length]!, action: 'doc:read', resource: `doc/${i}` }
    })
  const cpuBefore = await cpuMs(pid)
  const started = performance.now()
  const end = started + seconds * 1000
  let decided = 0
  async function lane(): Promise<void> {
    while (performance.now() < end) {
      const answers = await client.decide(batch())
      // A bench of refusals is worthless: a refusal is far cheaper than the real path.
      const refused = answers.find((a) => !a.allow)
      if (refused || answers.length !== BATCH) {
        throw new Error(`decisions bench: unexpected answer ${JSON.stringify(refused)}`)
      }
      decided += answers.length
    }
  }
  await Promise.all(Array.from({ length: INFLIGHT }, lane))
  const elapsedS = (performance.now() - started) / 1000
  const cpuAfter = await cpuMs(pid)
  return { perS: decided / elapsedS, serverUs: ((cpuAfter - cpuBefore) * 1000) / decided }
}

export const bench: Bench = async ({ quick }) => {
  const rounds = quick ? 3 : 5
  const seconds = quick ? 1 : 2
  const server = startFixture(SERVER, { label: 'decisions enforcer' })
  const clients: ServiceClient[] = []
  try {
    const { url, apiKey, subjects } = await server.line<{
      url: string
      apiKey: string
      subjects: string[]
    }>()
    const client = {} as Record<Mode, ServiceClient>
    for (const mode of MODES) {
      client[mode] = createServiceClient({ url, apiKey, transport: mode })
      clients.push(client[mode])
    }
    // Resolves once the socket is connected and subscribed: its decisions then go over it.
    await client.socket.watch({})

    const pid = server.child.pid
    // Untimed: lets the server's JIT settle before the first measured round.
    for (const mode of MODES) await measure(client[mode], pid, subjects, 1)
    const samples: Record<Mode, Sample[]> = { socket: [], http: [] }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < MODES.length; i++) {
        const mode = MODES[(r + i) % MODES.length]!
        samples[mode].push(await measure(client[mode], pid, subjects, seconds))
      }
    }

    const perS = (m: Mode) => median(samples[m].map((s) => s.perS))
    const cpu = (m: Mode) => median(samples[m].map((s) => s.serverUs))
    const perRound = samples.socket.map((s, i) => s.perS / samples.http[i]!.perS)
    perRound.sort((a, b) => a - b)
    const spread = `${round(perRound[0]!, 2)}–${round(perRound.at(-1)!, 2)}`
    const setup = `${rounds} rounds × ${seconds} s, batches of ${BATCH} subject queries, ${INFLIGHT} in flight`
    const rows: BenchRow[] = [
      {
        key: 'decisions.socket_per_s',
        value: Math.round(perS('socket')),
        unit: 'dec/s',
        note: `median, vigil:decide over the /services socket; ${setup}`,
      },
      {
        key: 'decisions.http_per_s',
        value: Math.round(perS('http')),
        unit: 'dec/s',
        note: 'median, POST /v1/decisions (keep-alive fetch)',
      },
      {
        key: 'decisions.ratio',
        value: round(perS('socket') / perS('http')),
        unit: '×',
        note: `socket ÷ http (per round ${spread})`,
      },
      {
        key: 'decisions.socket_cpu_us',
        value: round(cpu('socket'), 2),
        unit: 'µs',
        note: 'server CPU per decision over the socket (median over rounds)',
      },
      {
        key: 'decisions.http_cpu_us',
        value: round(cpu('http'), 2),
        unit: 'µs',
        note: 'server CPU per decision over HTTP (median over rounds)',
      },
    ]
    return rows
  } finally {
    for (const c of clients) c.close()
    await server.stop()
  }
}
