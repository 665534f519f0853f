import { pino, type DestinationStream, type Logger } from 'pino'

/** One decision, as the audit log records it. Never carries a token. */
export interface DecisionRecord {
  transport: 'http' | 'socket' | 'api' | 'service'
  sub?: string | undefined
  sid?: string | undefined
  jti?: string | undefined
  action: string
  resource: string
  allow: boolean
  /** The decision's reason, or the rejection code when no decision was reached. */
  reason: string
  rule?: string | undefined
  version: number
  durationUs: number
}

/** One change to the central state, as the audit log records it. */
export interface AdminChangeRecord {
  /** `apikey` or `sub:<admin subject>`. */
  actor: string
  change: string
  target?: string
  versionBefore: number
  versionAfter: number
}

export interface AuditLogOptions {
  nodeId: string
  /** A file path; absent → stdout. */
  file?: string | undefined
  /** For tests: where lines go instead of stdout or a file. */
  stream?: DestinationStream
}

export interface AuditLog {
  decision(record: DecisionRecord): void
  adminChange(record: AdminChangeRecord): void
  /** Writes out whatever is buffered (on shutdown). */
  flush(): Promise<void>
  /**
   * Also hands every record to `listener` in-process (a live console's tail). Costs nothing
   * while nobody listens. Returns the unsubscribe function.
   */
  tap(listener: (record: AuditEvent) => void): () => void
}

/** A record as a tap receives it: what the line holds. */
export type AuditEvent =
  | ({ event: 'decision'; time: number; node: string } & DecisionRecord)
  | ({ event: 'admin_change'; time: number; node: string } & AdminChangeRecord)

/**
 * The decision log: one JSON line per decision and per admin change, written through pino's
 * asynchronous destination so the hot path only formats a line and never waits on the disk.
 *
 * @example
 * ```ts
 * const audit = createAuditLog({ nodeId: 'node-a', file: '/var/log/vigil-audit.log' })
 * audit.decision({ transport: 'http', sub: 'alice', action: 'doc:read', ... })
 * ```
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  const destination =
    options.stream ??
    pino.destination({ dest: options.file ?? 1, sync: false, minLength: 4096, mkdir: true })
  const logger: Logger = pino(
    {
      base: { node: options.nodeId, log: 'audit' },
      // Epoch milliseconds: formatting an ISO date per decision is a visible share of its cost.
      timestamp: pino.stdTimeFunctions.epochTime,
      messageKey: 'event',
    },
    destination,
  )
  const listeners = new Set<(record: AuditEvent) => void>()
  const emit = (record: AuditEvent): void => {
    for (const listener of listeners) listener(record)
  }
  return {
    decision(record) {
      logger.info(record, 'decision')
      if (listeners.size > 0) {
        emit({ event: 'decision', time: Date.now(), node: options.nodeId, ...record })
      }
    },
    adminChange(record) {
      logger.info(record, 'admin_change')
      if (listeners.size > 0) {
        emit({ event: 'admin_change', time: Date.now(), node: options.nodeId, ...record })
      }
    },
    tap(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    flush() {
      return new Promise((resolve) => {
        const d = destination as DestinationStream & { flush?: (cb: () => void) => void }
        if (typeof d.flush === 'function') d.flush(() => resolve())
        else resolve()
      })
    },
  }
}
