import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'

/** Any ioredis client the store runs on: one server (plain or through Sentinel), or a Cluster. */
export type RedisClient = Redis | Cluster

export interface HostPort {
  host: string
  port: number
}

/**
 * Where the store lives, as `config.ts` parses it from the environment. Exactly one kind:
 * `REDIS_URL` (`redis://` or `rediss://` for TLS), `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`, or
 * `REDIS_CLUSTER_NODES`. Credentials of the URL kind live in the URL; the others take
 * `REDIS_USERNAME`/`REDIS_PASSWORD` (and `REDIS_SENTINEL_PASSWORD` for the sentinels themselves).
 */
export type RedisTopology =
  | { kind: 'url'; url: string }
  | ({ kind: 'sentinel'; sentinels: HostPort[]; name: string; sentinelPassword?: string } & Auth)
  | ({ kind: 'cluster'; nodes: HostPort[] } & Auth)

interface Auth {
  username?: string
  password?: string
}

/** The per-connection settings the store chooses (timeouts, retries, the connection's name). */
export type ConnectionSettings = Pick<
  RedisOptions,
  | 'connectionName'
  | 'maxRetriesPerRequest'
  | 'commandTimeout'
  | 'connectTimeout'
  | 'retryStrategy'
  | 'lazyConnect'
>

/**
 * The one place an ioredis client is made from a topology: the store, its tails and the demo's
 * socket.io adapter all go through here, so they all reach the same Redis the same way.
 *
 * @example
 * ```ts
 * const client = createRedisClient(config.redis, { connectionName: 'vigil' })
 * ```
 */
export function createRedisClient(
  topology: RedisTopology,
  settings: ConnectionSettings = {},
): RedisClient {
  switch (topology.kind) {
    case 'url':
      // ioredis turns `rediss://` into `tls: {}`: Node's default verification (system CAs plus
      // NODE_EXTRA_CA_CERTS, hostname checked), never a silent fallback to plaintext.
      return new Redis(topology.url, settings)
    case 'sentinel':
      return new Redis({
        ...settings,
        sentinels: topology.sentinels,
        name: topology.name,
        role: 'master',
        ...auth(topology),
        ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
        // Reconnect at once when the sentinels announce a new primary, rather than when the
        // old one's socket finally errors; a demoted primary answers writes with READONLY.
        failoverDetector: true,
        reconnectOnError: (err) => (/READONLY/.test(err.message) ? 2 : false),
      })
    case 'cluster':
      return new Cluster(topology.nodes, clusterOptions(settings, auth(topology)))
  }
}

/**
 * A second client to the same place with other settings (a tail's blocking connection).
 * `Redis#duplicate` takes connection options; `Cluster#duplicate` takes startup nodes first and
 * cluster options, with the per-node settings one level down.
 */
export function duplicateClient(client: RedisClient, settings: ConnectionSettings): RedisClient {
  if (client instanceof Cluster) {
    const { redisOptions = {} } = client.options
    return client.duplicate([], clusterOptions(settings, redisOptions))
  }
  return client.duplicate(settings)
}

function clusterOptions(
  settings: ConnectionSettings,
  base: NonNullable<ClusterOptions['redisOptions']>,
): ClusterOptions {
  const { retryStrategy, lazyConnect, ...perNode } = settings
  return {
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    redisOptions: { ...base, ...perNode },
  }
}

function auth(t: Auth): Auth {
  return {
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
  }
}

/**
 * The topology for logs and error messages: addresses and kind, never a credential
 * (`rediss://***@cache.internal:6380/0`).
 */
export function describeTopology(topology: RedisTopology): string {
  const list = (nodes: HostPort[]): string => nodes.map((n) => `${n.host}:${n.port}`).join(',')
  switch (topology.kind) {
    case 'url':
      return redactUrl(topology.url)
    case 'sentinel':
      return `sentinel master "${topology.name}" via ${list(topology.sentinels)}`
    case 'cluster':
      return `cluster ${list(topology.nodes)}`
  }
}

/** A Redis URL without its credentials (userinfo, or a `?password=` that ioredis would also read). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.username || parsed.password) {
      parsed.username = '***'
      parsed.password = ''
    }
    for (const name of [...parsed.searchParams.keys()]) {
      if (/pass|user/i.test(name)) parsed.searchParams.set(name, '***')
    }
    return parsed.toString()
  } catch {
    return '[unparsable URL]'
  }
}
