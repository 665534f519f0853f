import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  freePort,
  launch,
  proxies,
  startRedisServer,
  until,
  type RedisNode,
} from './redis-topology.js'
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js'

// A Sentinel-managed primary and replicas for failover tests; `stopAll()` (redis-topology.ts)
// ends them with everything else.

export interface SentinelSetup {
  primary: RedisNode
  /** The first of `replicas`. */
  replica: RedisNode
  replicas: RedisNode[]
  sentinels: RedisNode[]
  name: string
  /** The variables that point a node at this setup. */
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_NAME: string }
  /** The primary's port as the sentinels see it now. */
  primaryPort(): Promise<number>
  /**
   * With `partitionable`: drops every replica's link to the primary and keeps it down, so the
   * primary goes on accepting writes that no replica receives (a partition, a lagging replica).
   */
  cutReplication(): void
}

/**
 * A primary, one replica (or `replicas`) and three sentinels (quorum 2) with short failure
 * detection, so a failover after `kill -9` of the primary takes a second or two.
 * `partitionable` links each replica to the primary through a TCP proxy that `cutReplication`
 * drops; the sentinels would "fix" such a replica's config after `failoverTimeoutMs`, so keep that
 * long when you use it.
 */
export async function startSentinelSetup(
  options: {
    name?: string
    downAfterMs?: number
    failoverTimeoutMs?: number
    replicas?: number
    partitionable?: boolean
  } = {},
): Promise<SentinelSetup> {
  const name = options.name ?? 'vigil-test'
  const primary = await startRedisServer()
  const replicas: RedisNode[] = []
  const links: TcpProxy[] = []
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    let upstream = primary.port
    if (options.partitionable) {
      const link = await startTcpProxy(primary.url)
      proxies.add(link)
      links.push(link)
      upstream = Number(new URL(link.url).port)
    }
    replicas.push(await startRedisServer({ replicaOf: upstream }))
  }
  const sentinels: RedisNode[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const dir = mkdtempSync(join(tmpdir(), `vigil-sentinel-${port}-`))
    const conf = join(dir, 'sentinel.conf')
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `logfile ${join(dir, 'sentinel.log')}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
        `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 500}`,
        `sentinel failover-timeout ${name} ${options.failoverTimeoutMs ?? 2000}`,
        `sentinel parallel-syncs ${name} 1`,
        '',
      ].join('\n'),
    )
    sentinels.push(await launch('redis-sentinel', [conf], port, dir))
  }
  const setup: SentinelSetup = {
    primary,
    replica: replicas[0]!,
    replicas,
    sentinels,
    name,
    env: {
      REDIS_SENTINELS: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
      REDIS_SENTINEL_NAME: name,
    },
    async primaryPort() {
      const c = sentinels[0]!.client()
      try {
        const addr = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as string[]
        return Number(addr[1])
      } finally {
        c.disconnect()
      }
    },
    cutReplication() {
      if (links.length === 0) throw new Error('startSentinelSetup({ partitionable: true }) first')
      for (const link of links) link.cut()
    },
  }
  // Ready when every sentinel knows the replica and the two other sentinels: then a failover
  // can be agreed and has somewhere to go.
  for (const s of sentinels) {
    const c = s.client()
    try {
      await until(`sentinel ${s.port} to see the replicas and its peers`, async () => {
        const known = (await c.call('SENTINEL', 'replicas', name)) as unknown[]
        const peers = (await c.call('SENTINEL', 'sentinels', name)) as unknown[]
        return known.length === replicas.length && peers.length === 2
      })
    } finally {
      c.disconnect()
    }
  }
  return setup
}

/** Waits until the sentinels name a primary other than the one on `oldPort`. */
export async function failedOver(setup: SentinelSetup, oldPort: number): Promise<number> {
  let port = oldPort
  await until(
    'the sentinels to promote a new primary',
    async () => (port = await setup.primaryPort()) !== oldPort,
    400,
  )
  return port
}
