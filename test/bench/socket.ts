import { fileURLToPath } from 'node:url'
import { cpuMs, startFixture, type Fixture } from './child.js'
import type { Bench, BenchRow } from './harness.js'
import { quantile, round } from './harness.js'

/**
 * Acked `doc:edit` messages per second through three socket.io servers, each its own process:
 * bare socket.io (the baseline), a Vigil enforcer deciding every message (rule, payload schema,
 * live policy, audit line), and a naive guard that runs jose `jwtVerify` on every message. One
 * load process holds 50 websocket clients per server, each keeping a few acked messages in
 * flight. The modes take turns in rotating order, round after round, so a noisy neighbour on the
 * shared machine weighs on all of them alike; each figure is the median over rounds.
 *
 * On two cores the load generator and the server each fill one, so throughput can be bounded by
 * the load process: the server's own CPU time per message is reported too, a ratio that does not
 * depend on which side was the bottleneck.
 */

const MODES = ['bare', 'enforced', 'naive'] as const
type Mode = (typeof MODES)[number]

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
  const rounds = quick ? 3 : 9
  const seconds = quick ? 3 : 5
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

    const samples: Record<Mode, Sample[]> = { bare: [], enforced: [], naive: [] }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < MODES.length; i++) {
        const mode = MODES[(r + i) % MODES.length]!
        samples[mode].push(await measure(servers[mode], load, mode, seconds))
      }
    }

    const mps = (m: Mode) => median(samples[m].map((s) => s.mps))
    const cpu = (m: Mode) => median(samples[m].map((s) => s.serverUs))
    const busy = (m: Mode) => median(samples[m].map((s) => s.loadBusy))
    const perRound = samples.enforced.map((s, i) => s.mps / samples.bare[i]!.mps)
    perRound.sort((a, b) => a - b)
    const spread = `${round(perRound[0]!, 2)}–${round(perRound.at(-1)!, 2)}`
    const setup = `${rounds} rounds × ${seconds} s, ${CLIENTS} clients × ${INFLIGHT} in flight`
    const loadNote = (m: Mode) => `load process ${Math.round(busy(m) * 100)}% of a core`
    const rows: BenchRow[] = [
      {
        key: 'socket.bare_mps',
        value: Math.round(mps('bare')),
        unit: 'msg/s',
        note: `median, ${setup}; ${loadNote('bare')}`,
      },
      {
        key: 'socket.enforced_mps',
        value: Math.round(mps('enforced')),
        unit: 'msg/s',
        note: `median, rule + schema + live decision + audit; ${loadNote('enforced')}`,
      },
      {
        key: 'socket.naive_mps',
        value: Math.round(mps('naive')),
        unit: 'msg/s',
        note: `median, jose jwtVerify on every message; ${loadNote('naive')}`,
      },
      {
        key: 'socket.ratio',
        value: round(mps('enforced') / mps('bare')),
        unit: '×',
        note: `enforced ÷ bare (target ≥ 0.90; per round ${spread})`,
      },
      {
        key: 'socket.naive_ratio',
        value: round(mps('naive') / mps('bare')),
        unit: '×',
        note: 'naive ÷ bare',
      },
      {
        key: 'socket.bare_cpu_us',
        value: round(cpu('bare'), 1),
        unit: 'µs',
        note: 'server CPU per acked message (median over rounds)',
      },
      {
        key: 'socket.enforced_cpu_us',
        value: round(cpu('enforced'), 1),
        unit: 'µs',
        note: 'server CPU per acked message (median over rounds)',
      },
      {
        key: 'socket.naive_cpu_us',
        value: round(cpu('naive'), 1),
        unit: 'µs',
        note: 'server CPU per acked message (median over rounds)',
      },
      {
        key: 'socket.cpu_ratio',
        value: round(cpu('bare') / cpu('enforced')),
        unit: '×',
        note: 'bare ÷ enforced server CPU per message: the ratio if the server were the bottleneck',
      },
    ]
    return rows
  } finally {
    await Promise.all(fixtures.map((f) => f.stop()))
  }
}
