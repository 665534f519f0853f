import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import express from 'express'
import { loadConfig, type Config } from '../../src/config.js'
import { createEnforcer, type Enforcer, type EnforcerOptions } from '../../src/enforcer.js'
import { createLogger } from '../../src/logger.js'
import type { PolicyStore } from '../../src/store/types.js'
import type { Server as SocketServer } from 'socket.io'
import { attachRealtime, createSocketServer, type Realtime } from '../../src/realtime/attach.js'
import { attachServiceFeed } from '../../src/realtime/services.js'
import type { RealtimeOptions } from '../../src/realtime/options.js'

export const TEST_API_KEY = 'test-api-key-0123456789abcdef'

/** Collects every line written to it (log and audit output), for assertions. */
export class LineSink extends Writable {
  readonly lines: string[] = []
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  }
  get text(): string {
    return this.lines.join('\n')
  }
}

export interface TestNode {
  url: string
  enforcer: Enforcer
  server: Server
  app: express.Express
  logs: LineSink
  audit: LineSink
  /** The enforced socket.io server, when `realtime` options were given. */
  io?: SocketServer
  realtime?: Realtime
  /** `fetch` against this node with the API key unless `auth` says otherwise. */
  api(
    path: string,
    init?: RequestInit & { json?: unknown; auth?: string | null },
  ): Promise<Response>
  close(): Promise<void>
}

/**
 * Starts one enforcer node in this process on port 0, with its logs and audit lines captured.
 * `routes` lets a test add enforced demo routes before Vigil's own.
 */
export async function startNode(
  options: {
    store?: PolicyStore
    env?: Record<string, string>
    routes?: (app: express.Express, enforcer: Enforcer) => void
    realtime?: RealtimeOptions
    /** More options for `createEnforcer` (the config, logger and streams are the helper's). */
    enforcer?: Omit<EnforcerOptions, 'config' | 'logger' | 'auditStream' | 'store'>
  } = {},
): Promise<TestNode> {
  const parsed = loadConfig({ VIGIL_API_KEY: TEST_API_KEY, LOG_LEVEL: 'debug', ...options.env })
  if (!parsed.ok) throw new Error(parsed.problems.join('; '))
  const config: Config = parsed.config
  const logs = new LineSink()
  const audit = new LineSink()
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId, stream: logs })
  const enforcer = await createEnforcer({
    config,
    logger,
    auditStream: audit,
    ...options.enforcer,
    ...(options.store ? { store: options.store } : {}),
  })
  const app = express()
  options.routes?.(app, enforcer)
  app.use(enforcer.router)
  const server = createServer(app)
  const io = options.realtime ? createSocketServer(server, enforcer) : undefined
  const realtime =
    io && options.realtime ? attachRealtime(io, enforcer, options.realtime) : undefined
  const feed = io ? attachServiceFeed(io, enforcer) : undefined
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    enforcer,
    server,
    app,
    logs,
    audit,
    ...(io ? { io } : {}),
    ...(realtime ? { realtime } : {}),
    api(path, init = {}) {
      const { json, auth, ...rest } = init
      const headers = new Headers(rest.headers)
      const credential = auth === undefined ? TEST_API_KEY : auth
      if (credential !== null) headers.set('authorization', `Bearer ${credential}`)
      if (json !== undefined) headers.set('content-type', 'application/json')
      return fetch(url + path, {
        ...rest,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      })
    },
    async close() {
      await realtime?.close()
      feed?.close()
      io?.local.disconnectSockets(true)
      io?.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
      await enforcer.close()
    },
  }
}

/** The seed roles most tests use: viewer reads docs, editor also writes, admin does everything. */
export const SEED_POLICY = {
  roles: {
    viewer: { permissions: [{ action: 'doc:read', resource: 'doc/*' }] },
    editor: {
      permissions: [
        { action: 'doc:read', resource: 'doc/*' },
        { action: 'doc:write', resource: 'doc/*' },
      ],
    },
    admin: { permissions: [{ action: '*', resource: '*' }] },
  },
  bindings: { alice: ['editor'], bob: ['viewer'], carol: ['admin'] },
}
