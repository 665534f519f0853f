import assert from 'node:assert/strict'
import { once as onceEmitted, type EventEmitter } from 'node:events'
import { io, type Socket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import { z } from 'zod'
import type { TokenPair } from '@vigil-enforcer/client/protocol'
import type { RealtimeOptions } from '../../src/realtime/options.js'
import type { PolicyStore } from '../../src/store/types.js'
import { SEED_POLICY, startNode, type TestNode } from '../helpers/enforcer.js'

/**
 * `once` from node:events for a socket.io client, whose emitter is not typed as Node's: resolves
 * with the arguments of the next `event`. Create it before the action that triggers the event.
 */
export function once(socket: Socket, event: string): Promise<any[]> {
  return onceEmitted(socket as unknown as EventEmitter, event)
}

/** The demo's socket event: edit a document, needs `doc:write` on it. */
export const DocEdit = z.strictObject({
  docId: z.string().min(1).max(100),
  text: z.string().max(10_000),
})

export const DOC_EVENTS: RealtimeOptions['events'] = {
  'doc:edit': {
    action: 'doc:write',
    resource: (p: z.output<typeof DocEdit>) => `doc/${p.docId}`,
    schema: DocEdit,
  },
}

/** What the server-side handlers saw: a refused event must never show up here. */
export interface HandlerCounts {
  'doc:edit': number
  'doc:delete': number
}

export interface RealtimeNode extends TestNode {
  counts: HandlerCounts
}

/**
 * An in-process node with `doc:edit` enforced over the socket and the seed policy applied. The
 * app's handlers are registered before any client connects; `doc:delete` has a handler but no
 * rule, so only the guard stands between it and a client.
 */
export async function startRealtimeNode(
  options: {
    store?: PolicyStore
    env?: Record<string, string>
    realtime?: Omit<RealtimeOptions, 'events'>
    /** Rules beside `doc:edit`, for events a test's own handlers serve. */
    events?: RealtimeOptions['events']
    seed?: boolean
  } = {},
): Promise<RealtimeNode> {
  const node = await startNode({
    ...(options.store ? { store: options.store } : {}),
    ...(options.env ? { env: options.env } : {}),
    realtime: { ...options.realtime, events: { ...DOC_EVENTS, ...options.events } },
  })
  const counts: HandlerCounts = { 'doc:edit': 0, 'doc:delete': 0 }
  node.io!.on('connection', (socket) => {
    socket.on('doc:edit', (payload: z.output<typeof DocEdit>, ack?: (body: unknown) => void) => {
      counts['doc:edit'] += 1
      ack?.({ ok: true, data: { docId: payload.docId, length: payload.text.length } })
    })
    socket.on('doc:delete', (_payload: unknown, ack?: (body: unknown) => void) => {
      counts['doc:delete'] += 1
      ack?.({ ok: true })
    })
  })
  if (options.seed !== false) {
    await change(node, 'PUT', '/v1/policy', SEED_POLICY)
  }
  return Object.assign(node, { counts })
}

/** Calls the node's API and returns the status and parsed body. */
export async function call(
  node: TestNode,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await node.api(path, { method, ...(json === undefined ? {} : { json }) })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : null }
}

/**
 * Applies an admin change through the API and waits until this node decides with it, so what
 * follows is judged on the new version.
 */
export async function change(
  node: TestNode,
  method: string,
  path: string,
  json: unknown,
): Promise<{ version: number; at: number }> {
  const { status, body } = await call(node, method, path, json)
  assert.ok(
    status === 200 || status === 201,
    `${method} ${path}: ${status} ${JSON.stringify(body)}`,
  )
  await untilVersion(node, body.version)
  return body
}

/** Resolves once the node's live policy is at least `version` (on its update event, no polling). */
export async function untilVersion(node: TestNode, version: number): Promise<void> {
  const live = node.enforcer.live
  if (live.current().version >= version) return
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (live.current().version < version) return
      live.off('update', check)
      resolve()
    }
    live.on('update', check)
  })
}

/** Mints a session for `sub` through the service API. */
export async function mint(node: TestNode, sub: string): Promise<TokenPair> {
  const { status, body } = await call(node, 'POST', '/v1/sessions', { sub })
  assert.equal(status, 201, `minting a session for ${sub}: ${JSON.stringify(body)}`)
  return body as TokenPair
}

/** The (unverified) claims of a JWT, for tests that need its `jti` or `iat`. */
export function claimsOf(token: string): {
  sub: string
  sid: string
  jti: string
  iat: number
  exp: number
} {
  const [, payload] = token.split('.')
  return JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'))
}

/** Waits (bounded) until the epoch second is past `second`, so the next token has a later `iat`. */
export async function afterSecond(second: number): Promise<void> {
  for (let i = 0; i < 200 && Math.floor(Date.now() / 1000) <= second; i++) {
    const left = (second + 1) * 1000 - Date.now()
    await new Promise((r) => setTimeout(r, Math.max(1, Math.min(left, 50))))
  }
  assert.ok(Math.floor(Date.now() / 1000) > second, `the clock never passed second ${second}`)
}

type ClientOptions = Partial<ManagerOptions & SocketOptions>

/** Tracks every client a test file opens, so `after` can close them all and the runner exits. */
export function createClients() {
  const all = new Set<Socket>()

  /** Opens a websocket-only client without reconnection; `auth.token` only when given. */
  function open(url: string, token?: string, options: ClientOptions = {}): Socket {
    const socket = io(url, {
      auth: token === undefined ? {} : { token },
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...options,
    })
    all.add(socket)
    return socket
  }

  return {
    open,
    /** Connects and resolves with the socket and its `vigil:capabilities` hello. */
    async connect(url: string, token: string, options: ClientOptions = {}) {
      const socket = open(url, token, options)
      const hello = once(socket, 'vigil:capabilities')
      const refused = once(socket, 'connect_error').then(([err]) => {
        throw new Error(`connect refused: ${(err as any)?.data?.code ?? err}`)
      })
      const [capabilities] = await Promise.race([hello, refused])
      return { socket, capabilities: capabilities as { version: number; capabilities: unknown } }
    },
    /** Opens a client that must be refused and resolves with the refusal's `err.data.code`. */
    async refusal(url: string, token?: string, options: ClientOptions = {}): Promise<string> {
      const socket = open(url, token, options)
      const refused = once(socket, 'connect_error')
      const connected = once(socket, 'connect').then(() => {
        throw new Error('the client was let in')
      })
      const [err] = (await Promise.race([refused, connected])) as [{ data?: { code?: string } }]
      socket.close()
      return err.data?.code ?? 'none'
    },
    closeAll(): void {
      for (const s of all) s.close()
      all.clear()
    },
  }
}

/** Edits a document over the socket and resolves with the ack. */
export function edit(socket: Socket, docId = '1', text = 'hello'): Promise<any> {
  return socket.emitWithAck('doc:edit', { docId, text })
}

/** Records every `vigil:*` event a client gets, to assert that a bystander got none. */
export function recordVigilEvents(socket: Socket): string[] {
  const seen: string[] = []
  socket.onAny((event: string) => {
    if (event.startsWith('vigil:') && event !== 'vigil:capabilities') seen.push(event)
  })
  return seen
}

/** The promises a revoked client settles: its `vigil:revoked` payload and its disconnect reason. */
export function revocationOf(socket: Socket): Promise<[any, string]> {
  const revoked = once(socket, 'vigil:revoked').then(([e]) => e)
  const closed = once(socket, 'disconnect').then(([reason]) => reason as string)
  return Promise.all([revoked, closed])
}
