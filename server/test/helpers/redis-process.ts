import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

export interface RedisProcess {
  url: string
  port: number
  /** The server's working directory: its `dump.rdb` snapshot lives here. */
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
 * A `redis-server` of the test's own, on a free port, so faults (a restart that comes back empty
 * or from an older snapshot) never touch the machine's shared Redis. Persistence is off except
 * for explicit `SAVE`s, like the default Debian setup the issue describes.
 */
export async function startRedisProcess(): Promise<RedisProcess> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'vigil-redis-'))
  let child: ChildProcess | null = null
  const clients: Redis[] = []

  async function start(): Promise<void> {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    )
    child = proc
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => 50 })
    probe.on('error', () => {})
    try {
      for (let i = 0; i < 200; i++) {
        if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode}`)
        const pong = await probe.ping().catch(() => null)
        if (pong === 'PONG') {
          // Loading a snapshot answers LOADING errors first; PING works only once it is done.
          return
        }
        await new Promise((r) => setTimeout(r, 25))
      }
      throw new Error('redis-server did not answer PING')
    } finally {
      probe.disconnect()
    }
  }

  async function kill(): Promise<void> {
    const proc = child
    if (!proc || proc.exitCode !== null) return
    proc.kill('SIGKILL')
    await once(proc, 'exit')
  }

  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
      c.on('error', () => {})
      clients.push(c)
      return c
    },
    kill,
    start,
    async stop() {
      for (const c of clients) c.disconnect()
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}
