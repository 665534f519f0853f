/**
 * `store-loss`: how long two nodes take to trust the store again after Redis comes back empty
 * (no persistence), from the moment the new redis-server answers PING to the moment both nodes'
 * heads equal the store's restored head — restore mode, the default. A real redis-server of the
 * bench's own, killed with SIGKILL and started again each round.
 */
import { startNode, SEED_POLICY, type TestNode } from '../../server/test/helpers/enforcer.js'
import { startRedisProcess } from '../../server/test/helpers/redis-process.js'
import { quantile, round, type Bench } from './harness.js'

async function trusts(node: TestNode, above: number): Promise<boolean> {
  const res = await node.api('/v1/store')
  const body = (await res.json()) as {
    status: string
    node: { version: number; head: string }
    store: { version: number; head: string } | null | string
  }
  if (body.status !== 'ok' || !body.store || typeof body.store === 'string') return false
  return body.store.version > above && body.node.head === body.store.head
}

export const bench: Bench = async ({ quick }) => {
  const rounds = quick ? 3 : 8
  const redis = await startRedisProcess()
  const env = {
    REDIS_URL: redis.url,
    VIGIL_REDIS_PREFIX: '{vigil-bench-loss}:',
    VIGIL_ISSUER: 'http://vigil.bench',
    LOG_LEVEL: 'warn',
  }
  const nodes = [await startNode({ env }), await startNode({ env })]
  const times: number[] = []
  try {
    await nodes[0]!.api('/v1/policy', { method: 'PUT', json: SEED_POLICY })
    for (let i = 0; i < rounds; i++) {
      const res = await nodes[0]!.api('/v1/revocations', {
        method: 'POST',
        json: { subject: `gone-${i}` },
      })
      const { version } = (await res.json()) as { version: number }
      await redis.kill()
      await redis.start()
      const back = performance.now()
      for (let n = 0; n < 2000; n++) {
        if ((await trusts(nodes[0]!, version)) && (await trusts(nodes[1]!, version))) break
        await new Promise((r) => setTimeout(r, 5))
      }
      times.push(performance.now() - back)
    }
  } finally {
    await Promise.all(nodes.map((n) => n.close()))
    await redis.stop()
  }
  times.sort((a, b) => a - b)
  const note = `${rounds} rounds; Redis restarted empty → both nodes restored and ready (tail block ≤ 1 s)`
  return [
    { key: 'store.recover_p50_ms', value: round(quantile(times, 0.5), 1), unit: 'ms', note },
    { key: 'store.recover_max_ms', value: round(times.at(-1)!, 1), unit: 'ms', note },
  ]
}
