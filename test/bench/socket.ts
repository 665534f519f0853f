import { fileURLToPath } from 'node:url'
import { cpuMs, startFixture, type Fixture } from './child.js'
import type { Bench, BenchRow } from './harness.js'
import { quantile, round } from './harness.js'

/**
 * Acked `doc:edit` messages per second through four socket.io servers, each its own process:
 * bare socket.io (the baseline), a Vigil enforcer deciding every message (rule, live policy,
 * audit line to a file), the same enforcer whose rule also validates the payload with a zod
 * schema, and a naive guard that runs jose `jwtVerify` on every message. One load process holds
 * 50 websocket clients per server, each keeping a few acked messages in flight.
 *
 * The modes take turns in many short rounds (see ORDERS). A ratio is the median over rounds of
 * that round's ratio: the two servers it compares ran seconds apart, so a noisy neighbour on the
 * shared machine (which moves bare socket.io's own cost by a third from one minute to the next)
 * weighs on both alike. Throughput and CPU figures are medians over rounds.
 *
 * `socket.ratio` compares like with like: neither the bare server nor the enforcer validates the
 * payload. Validating it is the app's work, which a bare app would do in its handler; with Vigil it
 * moves into the rule. `socket.validated_ratio` charges it to Vigil anyway.
 *
 * On two cores the load generator and the server each fill one, so throughput can be bounded by
 * the load process: the server's own CPU time per message is reported too, a ratio that does not
 * depend on which side was the bottleneck.
 */

const MODES = ['bare', 'enforced', 'validated', 'naive'] as const
type Mode = (typeof MODES)[number]

/**
 * The order of each round's turns, alternating: bare and enforced always run back to back (so the
 * ratio that matters compares two windows seconds apart), and each goes first every other round.
 */
const ORDERS: readonly (readonly Mode[])[] = [
  ['bare', 'enforced', 'validated', 'naive'],
  ['enforced', 'bare', 'naive', 'validated'],
]

const CLIENTS = 50
const INFLIGHT = 4
const SERVER = fileURLToPath(new URL('./fixtures/socket-server.ts', import.meta.url))
const LOAD = fileURLToPath(new URL('./fixtures/socket-load.ts', import.meta.url))

interface Result {
  type: 'result'
  mode: Mode
  acks: number
  bad: number
  firstBad: unknown
  seconds: number
  cpuMs: number
}

interface Sample {
  mps: number
  /** Server CPU per acked message, µs. */
  serverUs: number
  /** Share of one core the load generator used. */
  loadBusy: number
}

function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )
}

async function measure(
  server: Fixture,
  load: Fixture,
  mode: Mode,
  seconds: number,
): Promise<Sample> {
  const cpuBefore = await cpuMs(server.child.pid)
  load.child.send({ type: 'run', mode, seconds, inflight: INFLIGHT })
  const result = await load.message<Result | { type: 'error'; message: string }>(
    (m) => m.type === 'error' || (m.type === 'result' && m.mode === mode),
    seconds * 1000 + 30_000,
  )
  const cpuAfter = await cpuMs(server.child.pid)
  if (result.type === 'error')
    throw new Error(`socket bench: ${mode} load failed: ${result.message}`)
  // A bench of refusals is worthless: a refusal is far cheaper than the real path.
  if (result.bad !== 0 || result.acks === 0) {
    throw new Error(
      `socket bench: ${mode} had ${result.bad} bad acks in ${result.acks} good ones; first: ` +
        `${JSON.stringify(result.firstBad)}\n${server.stderr()}`,
    )
  }
  return {
    mps: result.acks / result.seconds,
    serverUs: ((cpuAfter - cpuBefore) * 1000) / result.acks,
    loadBusy: result.cpuMs / 1000 / result.seconds,
  }
}

export const bench: Bench = async ({ quick }) => {
  // Many short rounds rather than a few long ones: the median of more interleaved pairs is less
  // at the mercy of one noisy neighbour on this shared machine.
  const rounds = quick ? 3 : 15
  const seconds = quick ? 2 : 3
  const warmup = quick ? 1 : 3
  const fixtures: Fixture[] = []
  try {
    const servers = {} as Record<Mode, Fixture>
    for (const mode of MODES) {
      servers[mode] = startFixture(SERVER, { label: `${mode} socket server`, args: [mode] })
      fixtures.push(servers[mode])
    }
    const load = startFixture(LOAD, { label: 'socket load generator', ipc: true })
    fixtures.push(load)
    for (const mode of MODES) {
      const { url, tokens } = await servers[mode].line<{ url: string; tokens: string[] }>()
      load.child.send({ type: 'connect', mode, url, tokens, clients: CLIENTS })
      const reply = await load.message<{ type: string; message?: string }>(
        (m) => m.type === 'error' || (m.type === 'connected' && m.mode === mode),
      )
      if (reply.type === 'error') {
        throw new Error(`socket bench: ${mode} clients could not connect: ${reply.message}`)
      }
    }

    // Untimed: lets each server's JIT settle before the first measured round.
    for (const mode of MODES) await measure(servers[mode], load, mode, warmup)

    const samples: Record<Mode, Sample[]> = { bare: [], enforced: [], validated: [], naive: [] }
    for (let r = 0; r < rounds; r++) {
      for (const mode of ORDERS[r % ORDERS.length]!) {
        samples[mode].push(await measure(servers[mode], load, mode, seconds))
      }
    }

    const mps = (m: Mode) => median(samples[m].map((s) => s.mps))
    const cpu = (m: Mode) => median(samples[m].map((s) => s.serverUs))
    const busy = (m: Mode) => median(samples[m].map((s) => s.loadBusy))
    /** `m`'s throughput ÷ bare's, round by round: the median, and the range over rounds. */
    const paired = (m: Mode, of: (s: Sample) => number, flip = false) => {
      const each = samples[m].map((s, i) => {
        const ratio = of(s) / of(samples.bare[i]!)
        return flip ? 1 / ratio : ratio
      })
      const sorted = [...each].sort((a, b) => a - b)
      const range = `${round(sorted[0]!, 2)}–${round(sorted.at(-1)!, 2)}`
      return { ratio: median(each), range }
    }
    const setup = `${rounds} rounds × ${seconds} s, ${CLIENTS} clients × ${INFLIGHT} in flight`
    const loadNote = (m: Mode) => `load process ${Math.round(busy(m) * 100)}% of a core`
    const throughput = (m: Mode, what: string): BenchRow => ({
      key: `socket.${m}_mps`,
      value: Math.round(mps(m)),
      unit: 'msg/s',
      note: `median, ${what}; ${loadNote(m)}`,
    })
    const ratio = (m: Mode, key: string, what: string): BenchRow => {
      const { ratio, range } = paired(m, (s) => s.mps)
      return { key, value: round(ratio), unit: '×', note: `${what}; per round ${range}` }
    }
    const cpuRow = (m: Mode): BenchRow => ({
      key: `socket.${m}_cpu_us`,
      value: round(cpu(m), 1),
      unit: 'µs',
      note: 'server CPU per acked message (median over rounds)',
    })
    const cpuRatio = paired('enforced', (s) => s.serverUs, true)
    const rows: BenchRow[] = [
      throughput('bare', setup),
      throughput('enforced', 'rule + live decision + audit to a file'),
      throughput('validated', 'the same + zod payload schema'),
      throughput('naive', 'jose jwtVerify on every message'),
      ratio('enforced', 'socket.ratio', 'enforced ÷ bare, median of rounds (target ≥ 0.90)'),
      ratio('validated', 'socket.validated_ratio', 'validated ÷ bare, median of rounds'),
      ratio('naive', 'socket.naive_ratio', 'naive ÷ bare, median of rounds'),
      cpuRow('bare'),
      cpuRow('enforced'),
      cpuRow('validated'),
      cpuRow('naive'),
      {
        key: 'socket.cpu_ratio',
        value: round(cpuRatio.ratio),
        unit: '×',
        note: `bare ÷ enforced server CPU per message, median of rounds (per round ${cpuRatio.range}): the ratio if the server were the bottleneck`,
      },
    ]
    return rows
  } finally {
    await Promise.all(fixtures.map((f) => f.stop()))
  }
}
