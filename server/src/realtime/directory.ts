import type { Logger } from 'pino'
import type { SessionRegistry, LiveEntry } from '../sessions/registry.js'
import type { LiveSessionInfo, PolicyStore } from '../store/types.js'

const FLUSH_MS = 250

/**
 * Publishes this node's live sessions to the store's cross-node directory (for
 * `GET /v1/sessions` and the admin console). Writes are batched and off the connect path; a
 * heartbeat keeps the node's entries alive and refreshes last-decision times.
 */
export function createDirectoryPublisher(deps: {
  store: PolicyStore
  registry: SessionRegistry
  node: string
  heartbeatMs: number
  logger: Logger
}) {
  const { store, registry, node } = deps
  const ttlMs = deps.heartbeatMs * 3
  const dirty = new Set<string>()
  const gone = new Set<string>()
  const published = new Map<string, number>()
  let flushing: Promise<void> = Promise.resolve()

  function info(sid: string): LiveSessionInfo | null {
    let out: LiveSessionInfo | null = null
    for (const e of registry.ofSession(sid)) {
      if (!out) {
        out = {
          sid,
          sub: e.principal.sub,
          node,
          roles: e.roles,
          connectedAt: e.connectedAt,
          sockets: 0,
        }
      }
      out.sockets += 1
      out.connectedAt = Math.min(out.connectedAt, e.connectedAt)
      const last = Math.max(out.lastDecisionAt ?? 0, e.lastDecisionAt ?? 0)
      if (last > 0) out.lastDecisionAt = last
    }
    return out
  }

  async function flush(): Promise<void> {
    const puts = [...dirty].map(info).filter((i): i is LiveSessionInfo => i !== null)
    const drops = [...gone].filter((sid) => !dirty.has(sid) || info(sid) === null)
    dirty.clear()
    gone.clear()
    try {
      await store.putLiveSessions(node, puts, ttlMs)
      for (const p of puts) published.set(p.sid, p.lastDecisionAt ?? 0)
      for (const sid of drops) {
        if (info(sid) === null) {
          await store.dropLiveSession(node, sid)
          published.delete(sid)
        }
      }
    } catch (err) {
      deps.logger.warn({ err }, 'could not publish live sessions; will retry')
      for (const p of puts) dirty.add(p.sid)
      for (const sid of drops) gone.add(sid)
    }
  }

  const flusher = setInterval(() => {
    if (dirty.size === 0 && gone.size === 0) return
    flushing = flushing.then(flush)
  }, FLUSH_MS)
  const heartbeat = setInterval(() => {
    for (const e of registry.entries()) {
      const sid = e.principal.sid
      if (sid && (e.lastDecisionAt ?? 0) > (published.get(sid) ?? 0)) dirty.add(sid)
    }
    flushing = flushing.then(() => store.touchNode(node, ttlMs).catch(() => {})).then(flush)
  }, deps.heartbeatMs)
  flusher.unref()
  heartbeat.unref()

  return {
    connected(entry: LiveEntry): void {
      if (entry.principal.sid) dirty.add(entry.principal.sid)
    },
    disconnected(entry: LiveEntry): void {
      const sid = entry.principal.sid
      if (!sid) return
      if (info(sid) === null) gone.add(sid)
      else dirty.add(sid)
    },
    async close(): Promise<void> {
      clearInterval(flusher)
      clearInterval(heartbeat)
      await flushing
    },
  }
}
