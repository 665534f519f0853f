import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

export interface TcpProxy {
  /** `http://127.0.0.1:<port>`: point a client here instead of at the node. */
  url: string
  /** Drops every open connection and refuses new ones until `restore`. */
  cut(): void
  /** Accepts connections again, to `target` when given (another node), else the same one. */
  restore(target?: string): void
  close(): Promise<void>
}

/**
 * A TCP proxy in front of an enforcer node that a test can cut and point elsewhere: the
 * client sees a real network drop, and after it a different node behind the same address, as
 * behind a load balancer.
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
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
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
