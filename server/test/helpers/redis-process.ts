import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import { freePort, startRedisServer, type RedisNode } from './redis-topology.js'

export interface RedisProcess {
  url: string
  port: number
  /** The server's working directory, kept across restarts: its `dump.rdb` snapshot lives here. */
  dir: string
  /** A client of this server, for the test's own reads and `SAVE`s. */
  client(): Redis
  /** Kills the server the hard way (no save on exit): a crash, a lost machine. */
  kill(): Promise<void>
  /** Starts it again on the same port and directory: empty, or from the `dump.rdb` there. */
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * One `redis-server` (see redis-topology.ts) that a test can crash and start again on the same
 * port and directory, so it comes back empty (no persistence) or from an older snapshot that
 * the test put there — the faults of the store-loss tests, never on the machine's own Redis.
 */
export async function startRedisProcess(): Promise<RedisProcess> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'vigil-redis-kept-'))
  const clients: Redis[] = []
  let node: RedisNode | null = null
  const start = async (): Promise<void> => {
    // A later `--dir` wins over the helper's own temp dir, so the snapshot survives a kill.
    node = await startRedisServer({ port, args: ['--dir', dir] })
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client() {
      const c = node!.client()
      clients.push(c)
      return c
    },
    kill: async () => node?.kill(),
    start,
    async stop() {
      for (const c of clients) c.disconnect()
      await node?.kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
