import { Redis } from 'ioredis'
import { createRedisStore } from '../../server/src/store/redis-store.js'
import type { PolicyStore } from '../../server/src/store/types.js'
import {
  failedOver,
  startSentinelSetup,
  type SentinelSetup,
} from '../../server/test/helpers/redis-sentinel.js'
import { stopAll, until } from '../../server/test/helpers/redis-topology.js'
import type { Bench, BenchRow } from './harness.js'
import { round } from './harness.js'

/**
 * Primary failover under Sentinel: a primary, two replicas and three sentinels started for the
 * bench (down-after 500 ms), two writers revoking subjects through RedisStores configured by
 * REDIS_SENTINELS, and `kill -9` of the primary mid-stream. Per round: the time from the kill to
 * the first write accepted by the new primary, and the acknowledged revocations that the new
 * primary does not hold. Two kinds of rounds, each without and with WAIT 1:
 * - a plain kill, replicas in sync;
 * - a partition: the replicas' links to the primary are cut 300 ms before the kill (a lagging
 *   replica), so everything written in between exists on the primary alone.
 */

const PREFIX = '{vigil-bench-failover}:'
const PARTITION_MS = 300

interface Round {
  firstWriteMs: number
  acked: number
  lostAcked: number
  unconfirmed: number
}

async function round1(waitReplicas: number, partition: boolean): Promise<Round> {
  const setup: SentinelSetup = await startSentinelSetup({
    replicas: 2,
    partitionable: partition,
    downAfterMs: 500,
    // Long, so the sentinels leave the proxied replica links alone (see the helper).
    failoverTimeoutMs: partition ? 60_000 : 2000,
  })
  const stores: PolicyStore[] = []
  try {
    const open = (): PolicyStore => {
      const store = createRedisStore({
        connection: {
          kind: 'sentinel',
          sentinels: setup.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
          name: setup.name,
        },
        prefix: PREFIX,
        waitReplicas,
        waitTimeoutMs: 200,
      })
      stores.push(store)
      return store
    }
    const acked = new Set<string>()
    let unconfirmed = 0
    let killedAt = 0
    let firstAfterKill = 0
    let stop = false
    const writer = async (store: PolicyStore, tag: string): Promise<void> => {
      for (let i = 0; !stop && i < 100_000; i++) {
        const subject = `${tag}-${i}`
        const startedAt = performance.now()
        try {
          const r = await store.apply({ type: 'revoke', target: { kind: 'subject', subject } })
          if (!r.ok) continue
          acked.add(subject)
          if (killedAt && startedAt > killedAt && !firstAfterKill)
            firstAfterKill = performance.now()
        } catch (err) {
          if ((err as { details?: { applied?: boolean } }).details?.applied) unconfirmed += 1
          await new Promise((r) => setTimeout(r, 5))
        }
      }
    }
    const writers = Promise.all([writer(open(), 'a'), writer(open(), 'b')])
    await until('100 acknowledged writes', async () => acked.size >= 100, 400)
    if (partition) {
      setup.cutReplication()
      await new Promise((r) => setTimeout(r, PARTITION_MS))
    }
    const oldPort = setup.primary.port
    killedAt = performance.now()
    await setup.primary.kill()
    const newPort = await failedOver(setup, oldPort)
    await until('a write accepted after the kill', async () => firstAfterKill > 0, 600)
    stop = true
    await writers
    const promoted = new Redis(newPort, '127.0.0.1', { maxRetriesPerRequest: 1 })
    promoted.on('error', () => {})
    const held = new Set(await promoted.hkeys(`${PREFIX}doc:rev:subjects`))
    promoted.disconnect()
    return {
      firstWriteMs: firstAfterKill - killedAt,
      acked: acked.size,
      lostAcked: [...acked].filter((s) => !held.has(s)).length,
      unconfirmed,
    }
  } finally {
    await Promise.all(stores.map((s) => s.close()))
    await stopAll()
  }
}

export const bench: Bench = async () => {
  const rows: BenchRow[] = []
  for (const partition of [false, true]) {
    for (const wait of [0, 1]) {
      const r = await round1(wait, partition)
      const kind = partition ? 'partitioned_' : ''
      const note = `${r.acked} acked, ${r.unconfirmed} answered unconfirmed (503 applied)`
      rows.push({
        key: `failover.${kind}lost_acked_wait${wait}`,
        value: r.lostAcked,
        unit: 'n',
        note,
      })
      if (!partition) {
        rows.push({
          key: wait === 0 ? 'failover.first_write_ms' : 'failover.first_write_wait1_ms',
          value: round(r.firstWriteMs, 0),
          unit: 'ms',
          note: 'kill -9 of the primary → first write accepted (down-after 500 ms)',
        })
      }
    }
  }
  return rows
}
