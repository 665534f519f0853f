import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { startFixture, type Fixture } from './child.js'
import type { Bench, BenchRow } from './harness.js'
import { quantile, round } from './harness.js'

/**
 * Requests per second through `GET /api/docs/:id` on three servers, each its own process: bare
 * express (the baseline), the same route behind `vigil.enforce` (verified-token cache, live
 * policy decision, audit line), and a naive guard that runs jose `jwtVerify` on every request.
 * The modes take turns in rotating order, round after round, so a noisy neighbour on the shared
 * machine weighs on all of them alike; each figure is the median over rounds. Each server's own
 * CPU time per request is reported too: it ignores time spent waiting for a core, so it is the
 * steadier measure of what enforcement costs when neighbours crowd the machine.
 */

const MODES = ['bare', 'enforced', 'naive'] as const
type Mode = (typeof MODES)[number]

const CONNECTIONS = 32
const PATH = '/api/docs/42'
const FIXTURE = fileURLToPath(new URL('./fixtures/http-server.ts', import.meta.url))

interface Server {
  mode: Mode
  url: string
  token: string
  fixture: Fixture
}

async function startServer(mode: Mode): Promise<Server> {
  const fixture = startFixture(FIXTURE, { label: `${mode} server`, args: [mode] })
  const { url, token } = await fixture.line<{ url: string; token: string }>(30_000)
  return { mode, url, token, fixture }
}

function authHeaders(server: Server): Record<string, string> {
  return server.token ? { authorization: `Bearer ${server.token}` } : {}
}

/** A guard that lets everything through would make the figures meaningless: check it first. */
async function checkGuard(server: Server): Promise<void> {
  const anonymous = await fetch(server.url + PATH)
  await anonymous.body?.cancel()
  const authorized = await fetch(server.url + PATH, { headers: authHeaders(server) })
  const body = (await authorized.json()) as { reader?: string }
  if (anonymous.status !== 401 || authorized.status !== 200 || body.reader !== 'bench-user') {
    throw new Error(
      `http bench: the ${server.mode} server answered ${anonymous.status} without a token and ` +
        `${authorized.status} with it (want 401 and 200)`,
    )
  }
}

async function load(server: Server, seconds: number): Promise<autocannon.Result> {
  const result = await autocannon({
    url: server.url + PATH,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    headers: authHeaders(server),
  })
  // A bench of errors is worthless: a 401/403/503 is far cheaper to serve than the real path.
  if (result.non2xx !== 0 || result.errors !== 0 || result['2xx'] === 0) {
    throw new Error(
      `http bench: ${server.mode} had ${result.non2xx} non-2xx responses and ${result.errors} ` +
        `connection errors in ${result['2xx']} good ones\n${server.fixture.stderr()}`,
    )
  }
  return result
}

async function cpuMicros(server: Server): Promise<number> {
  const res = await fetch(server.url + '/bench/cpu')
  return ((await res.json()) as { us: number }).us
}

function median(values: number[]): number {
  return quantile(
    [...values].sort((a, b) => a - b),
    0.5,
  )
}

export const bench: Bench = async ({ quick }) => {
  // Many short rounds rather than a few long ones: the median of more interleaved pairs is less
  // at the mercy of one noisy neighbour on this shared machine.
  const rounds = quick ? 3 : 9
  const seconds = quick ? 3 : 5
  const warmup = quick ? 1 : 3
  const servers: Server[] = []
  try {
    for (const mode of MODES) servers.push(await startServer(mode))
    const [, enforced, naive] = servers as [Server, Server, Server]
    await checkGuard(enforced)
    await checkGuard(naive)

    // Untimed: lets each server's JIT settle before the first measured round.
    for (const server of servers) await load(server, warmup)

    const rps: Record<Mode, number[]> = { bare: [], enforced: [], naive: [] }
    const p99: Record<Mode, number[]> = { bare: [], enforced: [], naive: [] }
    const cpu: Record<Mode, { us: number; requests: number }> = {
      bare: { us: 0, requests: 0 },
      enforced: { us: 0, requests: 0 },
      naive: { us: 0, requests: 0 },
    }
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < servers.length; i++) {
        const server = servers[(r + i) % servers.length]!
        const before = await cpuMicros(server)
        const result = await load(server, seconds)
        cpu[server.mode].us += (await cpuMicros(server)) - before
        cpu[server.mode].requests += result['2xx']
        rps[server.mode].push(result['2xx'] / result.duration)
        p99[server.mode].push(result.latency.p99)
      }
    }
    const cpuUs = (mode: Mode) => cpu[mode].us / cpu[mode].requests

    const bare = median(rps.bare)
    // Within a round the modes run back to back, so they share the machine's mood of the moment.
    const roundRatios = rps.enforced.map((v, i) => v / rps.bare[i]!).sort((a, b) => a - b)
    const spread = `${round(roundRatios[0]!, 2)}–${round(roundRatios.at(-1)!, 2)}`
    const setup = `${rounds} rounds × ${seconds} s, ${CONNECTIONS} connections`
    const rows: BenchRow[] = [
      { key: 'http.bare_rps', value: Math.round(bare), unit: 'req/s', note: `median, ${setup}` },
      {
        key: 'http.enforced_rps',
        value: Math.round(median(rps.enforced)),
        unit: 'req/s',
        note: 'median, vigil.enforce + audit log',
      },
      {
        key: 'http.naive_rps',
        value: Math.round(median(rps.naive)),
        unit: 'req/s',
        note: 'median, jose jwtVerify on every request',
      },
      {
        key: 'http.ratio',
        value: round(median(rps.enforced) / bare),
        unit: '×',
        note: `enforced ÷ bare (target ≥ 0.85; per round ${spread})`,
      },
      {
        key: 'http.ratio_paired',
        value: round(median(roundRatios)),
        unit: '×',
        note: 'median over rounds of that round’s enforced ÷ bare',
      },
      {
        key: 'http.naive_ratio',
        value: round(median(rps.naive) / bare),
        unit: '×',
        note: 'naive ÷ bare',
      },
      {
        key: 'http.p99_ms_enforced',
        value: round(median(p99.enforced), 1),
        unit: 'ms',
        note: 'median over rounds of p99 latency',
      },
      {
        key: 'http.p99_ms_bare',
        value: round(median(p99.bare), 1),
        unit: 'ms',
        note: 'median over rounds of p99 latency',
      },
      {
        key: 'http.p99_ms_naive',
        value: round(median(p99.naive), 1),
        unit: 'ms',
        note: 'median over rounds of p99 latency',
      },
      {
        key: 'http.cpu_us_bare',
        value: round(cpuUs('bare'), 1),
        unit: 'µs',
        note: 'server CPU time per request, all rounds',
      },
      {
        key: 'http.cpu_us_enforced',
        value: round(cpuUs('enforced'), 1),
        unit: 'µs',
        note: 'server CPU time per request, all rounds',
      },
      {
        key: 'http.cpu_us_naive',
        value: round(cpuUs('naive'), 1),
        unit: 'µs',
        note: 'server CPU time per request, all rounds',
      },
      {
        key: 'http.cpu_ratio',
        value: round(cpuUs('bare') / cpuUs('enforced')),
        unit: '×',
        note: 'bare ÷ enforced CPU per request: the share of bare throughput kept, CPU-bound',
      },
    ]
    return rows
  } finally {
    await Promise.all(servers.map((s) => s.fixture.stop()))
  }
}
