import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis, type RedisOptions } from 'ioredis'
import type { TestCertificates } from './test-certificates.js'
import type { TcpProxy } from './tcp-proxy.js'

/**
 * Real Redis topologies for tests, started from Debian's `redis-server` and `redis-sentinel` on
 * free ports in temp dirs — never the machine's own Redis. Every process started here is killed
 * by `stopAll()` (call it in `after`) and, failing that, when the test process exits.
 * Sentinel setups are in `redis-sentinel.ts`, TLS certificates in `test-certificates.ts`.
 */

export interface RedisNode {
  port: number
  dir: string
  child: ChildProcess
  /** `redis://127.0.0.1:<port>` (`rediss://` for a TLS server) */
  url: string
  /** A fresh admin connection (the caller disconnects it). */
  client(): Redis
  /** Kills the process (`SIGKILL` by default: a crash, nothing flushed) and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<void>
}

const started = new Set<RedisNode>()
process.once('exit', () => {
  for (const node of started) node.child.kill('SIGKILL')
})

/** Kills every process this helper started and removes their directories. */
export async function stopAll(): Promise<void> {
  await Promise.all([...started].map((node) => node.kill()))
  await Promise.all([...proxies].map((p) => p.close()))
  proxies.clear()
}

/** TCP proxies a setup made (replica links); `stopAll` closes them. */
export const proxies = new Set<TcpProxy>()

/** A port that is free now, and (for a cluster node) whose bus port, +10000, is free too. */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if ((await canListen(port)) && (!withBus || (await canListen(port + 10_000)))) return port
  }
  throw new Error('no free port found')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Polls `check` every 50 ms until it is true; fails after `attempts` tries, naming `what`. */
export async function until(
  what: string,
  check: () => Promise<boolean>,
  attempts = 200,
): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Starts `binary` in `dir` and resolves once it answers PING on `port` (bounded). */
export async function launch(
  binary: string,
  args: string[],
  port: number,
  dir: string,
  clientOptions: RedisOptions = {},
) {
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const node: RedisNode = {
    port,
    dir,
    child,
    url: `${clientOptions.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`,
    client: () => {
      const c = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        ...clientOptions,
      })
      c.on('error', () => {})
      return c
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
        await once(child, 'exit')
      }
      started.delete(node)
      rmSync(dir, { recursive: true, force: true })
    },
  }
  started.add(node)
  const exited = once(child, 'exit').then(() => {
    throw new Error(`${binary} on port ${port} exited at start: ${stderr}`)
  })
  exited.catch(() => {})
  await Promise.race([until(`${binary} on ${port}`, () => ping(node), 100), exited])
  return node
}

async function ping(node: RedisNode): Promise<boolean> {
  const c = node.client()
  try {
    await c.connect()
    return (await c.ping()) === 'PONG'
  } finally {
    c.disconnect()
  }
}

/**
 * One `redis-server` (no persistence unless `args` asks for it). `replicaOf` makes it a replica
 * and waits until its link to the primary is up; `password` sets requirepass and masterauth.
 */
export async function startRedisServer(
  options: {
    args?: string[]
    replicaOf?: number
    cluster?: boolean
    password?: string
    /** A port of its own (a crashed server coming back where it was). @default a free one */
    port?: number
    /** Serve TLS only (no plaintext port), with these files (see `createTestCertificates`). */
    tls?: TestCertificates
  } = {},
): Promise<RedisNode> {
  const port = options.port ?? (await freePort(options.cluster))
  const dir = mkdtempSync(join(tmpdir(), `vigil-redis-${port}-`))
  const { tls } = options
  const args = [
    ...(tls
      ? [
          ...['--port', '0', '--tls-port', String(port), '--tls-auth-clients', 'no'],
          ...['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile],
          ...['--tls-ca-cert-file', tls.caFile],
        ]
      : ['--port', String(port)]),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
    // A replica's first sync starts at once instead of after the default 5 s grace.
    '--repl-diskless-sync-delay',
    '0',
    ...(options.cluster
      ? ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')]
      : []),
    ...(options.replicaOf === undefined
      ? []
      : ['--replicaof', '127.0.0.1', String(options.replicaOf)]),
    ...(options.password
      ? ['--requirepass', options.password, '--masterauth', options.password]
      : []),
    ...(options.args ?? []),
  ]
  const node = await launch('redis-server', args, port, dir, {
    ...(options.password ? { password: options.password } : {}),
    ...(tls ? { tls: { ca: readFileSync(tls.caFile) } } : {}),
  })
  if (options.replicaOf !== undefined) await replicaLinked(node)
  return node
}

/** Waits until `replica` has synced with its primary. */
export async function replicaLinked(replica: RedisNode): Promise<void> {
  const c = replica.client()
  try {
    await until(`replica ${replica.port} to sync`, async () =>
      /master_link_status:up/.test(await c.info('replication')),
    )
  } finally {
    c.disconnect()
  }
}

export interface ClusterSetup {
  masters: RedisNode[]
  env: { REDIS_CLUSTER_NODES: string }
}

/**
 * A cluster of `count` masters (no replicas), all 16384 slots assigned, state ok on every node.
 * With `password`, every node requires it.
 */
export async function startCluster(
  count = 3,
  options: { password?: string } = {},
): Promise<ClusterSetup> {
  const masters: RedisNode[] = []
  const { password } = options
  for (let i = 0; i < count; i++) {
    masters.push(await startRedisServer({ cluster: true, ...(password ? { password } : {}) }))
  }
  const addresses = masters.map((m) => `127.0.0.1:${m.port}`)
  const auth = password ? ['-a', password, '--no-auth-warning'] : []
  const created = spawnSync(
    'redis-cli',
    [...auth, '--cluster', 'create', ...addresses, '--cluster-yes'],
    { encoding: 'utf8', timeout: 60_000 },
  )
  if (created.status !== 0) {
    throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
  }
  for (const m of masters) {
    const c = m.client()
    try {
      await until(`cluster node ${m.port} to report state ok`, async () =>
        /cluster_state:ok/.test(String(await c.call('CLUSTER', 'INFO'))),
      )
    } finally {
      c.disconnect()
    }
  }
  return { masters, env: { REDIS_CLUSTER_NODES: addresses.join(',') } }
}
