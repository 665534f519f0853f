import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  /** The target's URL with the proxy's address (`http://…`, `redis://…`): point a client here. */
  url: string
  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void
  /** Accepts connections again, to `target` when given (another node), else the same one. */
  restore(target?: string): void
  close(): Promise<void>
}

/**
 * A TCP proxy that a test can cut and point elsewhere: in front of an enforcer node, the client
 * sees a real network drop and then a different node behind the same address, as behind a load
 * balancer; in front of Redis, one node loses its store while the test's own writer keeps it.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(nodeA.url)
 * proxy.cut()
 * proxy.restore(nodeB.url)
 * ```
 */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  let upstream = new URL(target)
  let cut = false
  const pairs = new Set<[Socket, Socket]>()
  const server = createServer((client) => {
    if (cut) return void client.destroy()
    const remote = connect(Number(upstream.port), upstream.hostname)
    const pair: [Socket, Socket] = [client, remote]
    pairs.add(pair)
    const close = (): void => {
      client.destroy()
      remote.destroy()
      pairs.delete(pair)
    }
    client.on('error', close).on('close', close)
    remote.on('error', close).on('close', close)
    client.pipe(remote).pipe(client)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  function drop(): void {
    cut = true
    for (const [a, b] of pairs) {
      a.destroy()
      b.destroy()
    }
    pairs.clear()
  }
  return {
    url: `${upstream.protocol}//127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: drop,
    restore(next) {
      if (next !== undefined) upstream = new URL(next)
      cut = false
    },
    async close() {
      drop()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
