import { pino, type DestinationStream, type Logger } from 'pino'
import { DecisionLines } from './decision-line.js'
import { fileDestination } from './file-destination.js'

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
  /** When it was decided, epoch ms; absent → when it is logged. */
  time?: number | undefined
}

/** One change to the central state, as the audit log records it. */
export interface AdminChangeRecord {
  /** `apikey` or `sub:<admin subject>`. */
  actor: string
  change: string
  target?: string
  versionBefore: number
  versionAfter: number
  /** Committed, but fewer replicas than `VIGIL_REDIS_WAIT_REPLICAS` confirmed it in time. */
  unconfirmed?: true
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
  /**
   * Actions named in code (event rules, enforced routes): their line fragment is encoded once and
   * kept. Any other action is encoded on each line, so names a client makes up cost no memory.
   */
  keepActions(actions: Iterable<string>): void
  /** How many action fragments are kept; for tests, it must not grow with client input. */
  cachedActions(): number
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
 * Decision lines, one per socket message, are encoded by `decision-line.ts` into the JSON pino
 * would write (pure ASCII), as bytes, and handed to the destination a buffer at a time.
 *
 * @example
 * ```ts
 * const audit = createAuditLog({ nodeId: 'node-a', file: '/var/log/vigil-audit.log' })
 * audit.decision({ transport: 'http', sub: 'alice', action: 'doc:read', ... })
 * ```
 */
export function createAuditLog(options: AuditLogOptions): AuditLog {
  // A written chunk's buffer is encoded into again (`lines` exists by the time any is written).
  const file = options.stream
    ? undefined
    : fileDestination(options.file, (chunk) => lines.recycle(chunk))
  const destination: DestinationStream = options.stream ?? file!
  // A file gets the encoded bytes as they are; a test stream gets them as a string, at once.
  const writeLines = file
    ? file.writeChunk
    : (chunk: Buffer) => {
        destination.write(chunk.toString('latin1'))
        lines.recycle(chunk)
      }
  const logger: Logger = pino(
    {
      base: { node: options.nodeId, log: 'audit' },
      // Epoch milliseconds: formatting an ISO date per decision is a visible share of its cost.
      timestamp: pino.stdTimeFunctions.epochTime,
      messageKey: 'event',
    },
    destination,
  )
  const lines = new DecisionLines(logger.levels.values['info']!, options.nodeId, writeLines)
  const listeners = new Set<(record: AuditEvent) => void>()
  const emit = (record: AuditEvent): void => {
    for (const listener of listeners) listener(record)
  }
  // Decision lines are encoded into a 64 KB buffer, handed over whole when full: one write per
  // buffer, not per decision. A quiet node's lines are handed over within BATCH_MS and reach the
  // file with pino's periodic flush (a second). The timer is not unref'd, so a process that ends
  // by itself still writes its last lines.
  let timer: NodeJS.Timeout | undefined
  const release = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    const chunk = lines.take()
    if (chunk) writeLines(chunk)
  }
  return {
    decision(record) {
      lines.append(record)
      if (timer === undefined) timer = setTimeout(release, BATCH_MS)
      if (listeners.size > 0) {
        const time = record.time ?? Date.now()
        emit({ event: 'decision', node: options.nodeId, ...record, time })
      }
    },
    adminChange(record) {
      // In order: the decisions that came before this change are written before it.
      release()
      logger.info(record, 'admin_change')
      if (listeners.size > 0) {
        emit({ event: 'admin_change', time: Date.now(), node: options.nodeId, ...record })
      }
    },
    keepActions(actions) {
      for (const action of actions) lines.keepAction(action)
    },
    cachedActions: () => lines.keptActions,
    tap(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    flush() {
      release()
      return new Promise((resolve) => {
        const d = destination as DestinationStream & { flush?: (cb: () => void) => void }
        if (typeof d.flush === 'function') d.flush(() => resolve())
        else resolve()
      })
    },
  }
}

const BATCH_MS = 50
