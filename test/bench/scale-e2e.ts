/**
 * The scale figures that need a real node and a real Redis, each for a small (1k) and a large
 * (1M, or 100k with --quick) policy in the same run:
 *
 * - seeding: the bound subjects, then a fifth as many session revocations, imported through
 *   `POST /v1/policy/changes` in batches of 10,000 — changes per second;
 * - revocation: `POST /v1/revocations {subject}` → `vigil:revoked` at the subject's socket, for
 *   100 live sockets held by one client process, on the node that did the seeding;
 * - start: a second node joining the seeded store, from spawn to `/readyz` 200 (it listens only
 *   once it holds the whole current document, so it never decides on a partial one), and its RSS.
 */
import { dropPrefix, testPrefix } from '../../server/test/helpers/redis.js'
import { startFixture, type Fixture } from './child.js'
import { quantile } from './harness.js'
import { arrivals, post } from './revoke.js'

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379'
const NODE = new URL('./fixtures/scale-node.ts', import.meta.url).pathname
const CLIENTS = new URL('./fixtures/revoke-clients.ts', import.meta.url).pathname
const BATCH = 10_000
const SOCKETS = 100
const WARMUP = 10
const REVOCATIONS = 200

const now = (): number => performance.timeOrigin + performance.now()
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b)

export interface ScaleRun {
  subjects: number
  seedPerS: number
  revokeP50: number
  revokeP99: number
  startMs: number
  rssMb: number
}

function startNode(prefix: string): Fixture {
  return startFixture(NODE, {
    label: 'scale node',
    args: [JSON.stringify({ redisUrl: REDIS_URL, prefix })],
    nodeArgs: ['--max-old-space-size=4096'],
  })
}

function ask<T>(node: Fixture, command: object): Promise<T> {
  node.child.stdin!.write(JSON.stringify(command) + '\n')
  return node.line<T>(120_000)
}

async function seed(url: string, apiKey: string, subjects: number): Promise<number> {
  const roles = {
    viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
    editor: { permissions: [{ action: 'doc:write', resource: 'doc/*' }] },
  }
  const put = await fetch(`${url}/v1/policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ roles }),
  })
  if (!put.ok) throw new Error(`scale bench: PUT /v1/policy answered ${put.status}`)
  const revoked = Math.floor(subjects / 5)
  const total = subjects + revoked
  const t0 = now()
  for (let from = 0; from < total; from += BATCH) {
    const changes = []
    for (let i = from; i < Math.min(total, from + BATCH); i++) {
      changes.push(
        i < subjects
          ? { type: 'subject.roles', subject: `u${i}`, roles: [i % 2 ? 'editor' : 'viewer'] }
          : { type: 'revoke', target: { kind: 'session', session: `s${i - subjects}` } },
      )
    }
    await post(`${url}/v1/policy/changes`, apiKey, { changes })
  }
  return total / ((now() - t0) / 1000)
}

/** Seeds an `subjects`-subject store through one node, times revocations, then a second start. */
export async function scaleRun(subjects: number): Promise<ScaleRun> {
  const prefix = testPrefix('bench-scale')
  const fixtures: Fixture[] = []
  try {
    const node = startNode(prefix)
    fixtures.push(node)
    const { url, apiKey } = await node.line<{ url: string; apiKey: string }>(60_000)
    const seedPerS = await seed(url, apiKey, subjects)

    const { tokensFile } = await ask<{ tokensFile: string }>(node, {
      cmd: 'mint',
      from: 0,
      to: WARMUP + REVOCATIONS,
    })
    const client = startFixture(CLIENTS, { label: 'scale client', ipc: true })
    fixtures.push(client)
    const events = arrivals([client])
    client.child.send({ type: 'connect', url, tokensFile, from: 0, to: WARMUP + REVOCATIONS })
    const ready = await client.message<{ type: string; message?: string }>(
      (m) => m.type === 'ready' || m.type === 'error',
      120_000,
    )
    if (ready.type !== 'ready') throw new Error(`scale bench: clients: ${ready.message}`)
    const latency: number[] = []
    for (let i = 0; i < WARMUP + REVOCATIONS; i++) {
      const arrival = events.wait('revoked', `u${i}`)
      const t0 = now()
      await post(`${url}/v1/revocations`, apiKey, { subject: `u${i}` })
      const { receivedAt } = await arrival
      if (i >= WARMUP) latency.push(receivedAt - t0)
    }
    const lat = sorted(latency)

    // A node joining the store: from spawn to ready.
    const t0 = now()
    const joining = startNode(prefix)
    fixtures.push(joining)
    const joined = await joining.line<{ url: string }>(120_000)
    for (;;) {
      const res = await fetch(`${joined.url}/readyz`).catch(() => null)
      if (res?.status === 200) break
      await new Promise((r) => setTimeout(r, 10))
    }
    const startMs = now() - t0
    const { rssMb } = await ask<{ rssMb: number }>(joining, { cmd: 'rss' })
    return {
      subjects,
      seedPerS,
      revokeP50: quantile(lat, 0.5),
      revokeP99: quantile(lat, 0.99),
      startMs,
      rssMb,
    }
  } finally {
    await Promise.all(fixtures.map((f) => f.stop()))
    await dropPrefix(prefix, REDIS_URL).catch(() => {})
  }
}
