import { rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dropPrefix, testPrefix } from '../../server/test/helpers/redis.js'
import { startFixture, type Fixture } from './child.js'
import type { Bench, BenchRow } from './harness.js'
import { quantile, round } from './harness.js'

/**
 * The path of a revocation, end to end: `POST /v1/revocations {subject}` on a Redis-backed
 * enforcer node → store → the node's change-log tail → session index → `vigil:revoked` on the
 * subject's socket, timed from just before the HTTP call to the client's receipt of the event.
 * The node, the parent and the four client processes share one machine clock.
 *
 * Then `role.put` takes `doc:write` away from 1,000 live holders of `team`, timed to the last
 * `vigil:step-down`, and gives it back (awaiting every `vigil:step-up`), round after round: the
 * figure is the median round, with the slowest and the first (cold) one beside it; and the node's heap per live socket (socket.io's own state
 * included) plus Vigil's own per-session state measured without socket.io.
 */

const CLIENT_PROCESSES = 4
const TEAM = 1_000
const POLICY_SUBJECTS = 10_000
const WARMUP = 5
const STEP_ROUNDS = 7
/** `team` without and with `doc:write`: each `role.put` steps its holders down, then up. */
const TEAM_READ = { permissions: [{ action: 'doc:read', resource: 'team/*' }] }
const TEAM_WRITE = {
  permissions: [
    { action: 'doc:write', resource: 'team/*' },
    { action: 'doc:read', resource: 'team/*' },
  ],
}
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const NODE = fileURLToPath(new URL('./fixtures/revoke-node.ts', import.meta.url))
const CLIENTS = fileURLToPath(new URL('./fixtures/revoke-clients.ts', import.meta.url))
const SESSION_HEAP = fileURLToPath(new URL('./fixtures/session-heap.ts', import.meta.url))

/** The clock the client processes stamp arrivals with: wall-clock ms, sub-ms resolution. */
const now = (): number => performance.timeOrigin + performance.now()

interface Arrival {
  type: 'revoked' | 'step-down' | 'step-up'
  sub: string
  receivedAt: number
  at: number
}

/** Every `vigil:*` arrival from every client process, awaitable by subject. */
export function arrivals(clients: Fixture[]) {
  const seen = new Map<string, Arrival>()
  const waiting = new Map<string, (a: Arrival) => void>()
  const lost: string[] = []
  let failure: Error | null = null
  for (const c of clients) {
    type Report = Arrival | { type: 'lost'; sub: string; reason: string }
    c.child.on('message', (batch: Report[] | { type: string }) => {
      if (!Array.isArray(batch)) return
      for (const m of batch) {
        if (m.type === 'lost') {
          lost.push(`${m.sub} (${m.reason})`)
          continue
        }
        const key = `${m.type} ${m.sub}`
        const resolve = waiting.get(key)
        if (resolve) {
          waiting.delete(key)
          resolve(m)
        } else seen.set(key, m)
      }
    })
    c.child.once('exit', () => {
      failure ??= new Error(`revoke bench: ${c.label} exited\n${c.stderr()}`)
    })
  }
  return {
    lost,
    wait(type: Arrival['type'], sub: string, timeoutMs = 10_000): Promise<Arrival> {
      const key = `${type} ${sub}`
      const early = seen.get(key)
      if (early) {
        seen.delete(key)
        return Promise.resolve(early)
      }
      if (failure) return Promise.reject(failure)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key)
          reject(new Error(`revoke bench: no ${type} for ${sub} within ${timeoutMs / 1000} s`))
        }, timeoutMs)
        waiting.set(key, (a) => {
          clearTimeout(timer)
          resolve(a)
        })
      })
    },
  }
}

/** Posts one admin change; resolves with the policy version it produced. */
export async function post(url: string, apiKey: string, body: object): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`revoke bench: ${url} answered ${res.status}: ${text}`)
  return (JSON.parse(text) as { version: number }).version
}

function ask<T>(node: Fixture, cmd: string): Promise<T> {
  node.child.stdin!.write(JSON.stringify({ cmd }) + '\n')
  return node.line<T>(30_000)
}

const heapOf = (node: Fixture) => ask<{ heap: number; sessions: number }>(node, 'heap')

const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b)

export const bench: Bench = async ({ quick }) => {
  const sessions = quick ? 2_000 : 10_000
  const revocations = quick ? 50 : 200
  const prefix = testPrefix('bench')
  const fixtures: Fixture[] = []
  let nodeDir: string | undefined
  try {
    // Vigil's own state per session first, while nothing else runs.
    const heapProbe = startFixture(SESSION_HEAP, {
      label: 'session heap probe',
      args: [String(sessions)],
      nodeArgs: ['--expose-gc'],
    })
    fixtures.push(heapProbe)
    const probe = await heapProbe.line<{
      sessions: number
      before: number
      principal: number
      registry: number
      handlers: number
    }>(120_000)
    await heapProbe.stop()

    const node = startFixture(NODE, {
      label: 'enforcer node',
      args: [
        JSON.stringify({
          redisUrl: REDIS_URL,
          prefix,
          sessions,
          team: TEAM,
          policySubjects: POLICY_SUBJECTS,
        }),
      ],
      nodeArgs: ['--expose-gc'],
      fileLimit: 65_536,
    })
    fixtures.push(node)
    const { url, apiKey, tokensFile } = await node.line<{
      url: string
      apiKey: string
      tokensFile: string
    }>(120_000)
    nodeDir = dirname(tokensFile)
    const before = await heapOf(node)

    const clients: Fixture[] = []
    for (let i = 0; i < CLIENT_PROCESSES; i++) {
      const client = startFixture(CLIENTS, {
        label: `client process ${i}`,
        ipc: true,
        fileLimit: 65_536,
      })
      clients.push(client)
      fixtures.push(client)
    }
    const events = arrivals(clients)
    const share = Math.ceil(sessions / CLIENT_PROCESSES)
    const ready = await Promise.all(
      clients.map((client, i) => {
        const from = i * share
        const to = Math.min(sessions, from + share)
        client.child.send({ type: 'connect', url, tokensFile, from, to })
        return client.message<
          { type: 'ready'; count: number } | { type: 'error'; message: string }
        >((m) => m.type === 'ready' || m.type === 'error', 180_000)
      }),
    )
    const connectError = ready.find((r) => r.type === 'error')
    if (connectError?.type === 'error') {
      throw new Error(`revoke bench: clients could not connect: ${connectError.message}`)
    }
    const after = await heapOf(node)
    if (after.sessions !== sessions) {
      throw new Error(`revoke bench: the node holds ${after.sessions} of ${sessions} sessions`)
    }

    // With VIGIL_BENCH_CPU_PROF=<dir> the node profiles the timed part only.
    const profiling = process.env['VIGIL_BENCH_CPU_PROF'] !== undefined
    if (profiling) await ask(node, 'profile-start')

    // Revoke subjects outside `team`, so the step-down below still finds all its holders.
    const revocationsUrl = `${url}/v1/revocations`
    const latency: number[] = []
    const storeToClient: number[] = []
    const httpMs: number[] = []
    const started = new Map<number, number>()
    for (let i = 0; i < WARMUP + revocations; i++) {
      const sub = `u${i}`
      const arrival = events.wait('revoked', sub)
      const t0 = now()
      const version = await post(revocationsUrl, apiKey, { subject: sub })
      const answered = now()
      const { receivedAt, at } = await arrival
      if (i < WARMUP) continue
      latency.push(receivedAt - t0)
      storeToClient.push(receivedAt - at)
      httpMs.push(answered - t0)
      started.set(version, t0)
    }

    type Pushed = { version: number; at: number; pushedAt: number }
    const revokeUpdates = (await ask<{ updates: Pushed[] }>(node, 'updates')).updates
    const nodeMs = sorted(
      revokeUpdates
        .filter((u) => started.has(u.version))
        .map((u) => u.pushedAt - started.get(u.version)!),
    )

    // Step `team` down and back up, round after round: one change reaching a thousand sockets
    // is a single sample, and the first one also pays for compiling the code it runs.
    const holders = Array.from({ length: TEAM }, (_, i) => `u${sessions - TEAM + i}`)
    const changes = `${url}/v1/policy/changes`
    const lastMs: number[] = []
    const nodeMsStep: number[] = []
    let steps: Arrival[] = []
    for (let r = 0; r < STEP_ROUNDS; r++) {
      const stepDowns = holders.map((sub) => events.wait('step-down', sub, 30_000))
      const t0 = now()
      const stepVersion = await post(changes, apiKey, {
        type: 'role.put',
        role: 'team',
        definition: TEAM_READ,
      })
      steps = await Promise.all(stepDowns)
      lastMs.push(Math.max(...steps.map((s) => s.receivedAt)) - t0)
      const pushed = (await ask<{ updates: Pushed[] }>(node, 'updates')).updates
      const stepUpdate = pushed.find((u) => u.version === stepVersion)
      nodeMsStep.push(stepUpdate ? stepUpdate.pushedAt - t0 : Number.NaN)
      const stepUps = holders.map((sub) => events.wait('step-up', sub, 30_000))
      await post(changes, apiKey, { type: 'role.put', role: 'team', definition: TEAM_WRITE })
      await Promise.all(stepUps)
    }
    if (profiling) {
      const { profile } = await ask<{ profile: string }>(node, 'profile-stop')
      process.stderr.write(`revoke bench: node CPU profile in ${profile}\n`)
    }
    const stepLast = sorted(lastMs)
    const firstRound = lastMs[0]!
    if (events.lost.length > 0) {
      throw new Error(
        `revoke bench: ${events.lost.length} sockets closed without a revocation, e.g. ` +
          events.lost.slice(0, 3).join(', '),
      )
    }

    const lat = sorted(latency)
    const s2c = sorted(storeToClient)
    const perSession = (after.heap - before.heap) / sessions
    const n = probe.sessions
    const vigilBytes = (probe.handlers - probe.before) / n
    const part = (a: number, b: number): number => Math.round((b - a) / n)
    const setup = `${revocations} single-subject revocations, ${sessions} live sockets`
    const rows: BenchRow[] = [
      {
        key: 'revoke.p50_ms',
        value: round(quantile(lat, 0.5), 2),
        unit: 'ms',
        note: `API call → vigil:revoked at the client (target ≤ 5); ${setup}`,
      },
      {
        key: 'revoke.p99_ms',
        value: round(quantile(lat, 0.99), 2),
        unit: 'ms',
        note: 'target ≤ 20',
      },
      { key: 'revoke.max_ms', value: round(lat.at(-1)!, 2), unit: 'ms' },
      {
        key: 'revoke.store_to_client_p50_ms',
        value: round(quantile(s2c, 0.5), 2),
        unit: 'ms',
        note: `change written to the store (event \`at\`, whole ms) → client; p99 ${round(
          quantile(s2c, 0.99),
          2,
        )}`,
      },
      {
        key: 'revoke.node_pushed_p50_ms',
        value: round(quantile(nodeMs, 0.5), 2),
        unit: 'ms',
        note: `API call → the node has emitted vigil:revoked (p99 ${round(quantile(nodeMs, 0.99), 2)})`,
      },
      {
        key: 'revoke.http_p50_ms',
        value: round(quantile(sorted(httpMs), 0.5), 2),
        unit: 'ms',
        note: 'the API call itself, to its 201',
      },
      {
        key: 'revoke.sockets',
        value: after.sessions,
        unit: 'count',
        note: `connected over ${CLIENT_PROCESSES} client processes (websocket)`,
      },
      {
        key: 'stepdown.last_ms',
        value: round(quantile(stepLast, 0.5), 2),
        unit: 'ms',
        note:
          `role.put → last of ${TEAM} vigil:step-down, median of ${STEP_ROUNDS} rounds (target ` +
          `≤ 50); slowest round ${round(stepLast.at(-1)!, 2)}, first (cold) ${round(firstRound, 2)}`,
      },
      {
        key: 'stepdown.node_pushed_ms',
        value: round(quantile(sorted(nodeMsStep), 0.5), 2),
        unit: 'ms',
        note: `role.put → the node has emitted all ${TEAM} vigil:step-down (median of rounds)`,
      },
      {
        key: 'session.heap_bytes',
        value: Math.round(perSession),
        unit: 'B',
        note: `node heap per live socket after GC, socket.io's own per-socket state included`,
      },
      {
        key: 'session.vigil_heap_bytes',
        value: Math.round(vigilBytes),
        unit: 'B',
        note:
          `Vigil's own per-session state, no socket.io (target ≤ 2048): principal ` +
          `${part(probe.before, probe.principal)}, registry entry+view+indexes ` +
          `${part(probe.principal, probe.registry)}, guard+limiter+timers+refresh ` +
          `${part(probe.registry, probe.handlers)}`,
      },
    ]
    return rows
  } finally {
    await Promise.all(fixtures.map((f) => f.stop()))
    if (nodeDir) await rm(nodeDir, { recursive: true, force: true })
    await dropPrefix(prefix, REDIS_URL).catch((err: unknown) => {
      process.stderr.write(`revoke bench: could not delete ${prefix}* from Redis: ${String(err)}\n`)
    })
  }
}
