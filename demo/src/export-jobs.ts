/**
 * The export worker's jobs: long-running work that reports progress and stops, mid-way, when
 * its AbortController fires — the in-flight work a revocation must reach.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as tick } from 'node:timers/promises'

export type JobState = 'running' | 'done' | 'cancelled'

/** What `GET /jobs/:id` shows. The user's token stays inside the worker. */
export interface JobView {
  id: string
  docId: string
  subject: string
  state: JobState
  /** Percent, 0–100. */
  progress: number
  /** Why the job was cancelled (`revoked: offboarded`, `shutdown`, …). */
  reason?: string
}

/** A running job as the worker knows it: who it runs for and with which credentials. */
export interface Job {
  view: JobView
  token: string
  session: string | undefined
  jti: string | undefined
  /** Seconds since epoch when the user's token was issued. */
  iat: number | undefined
  /** Resolves with the final view once the job is done or cancelled. */
  settled: Promise<JobView>
}

export interface ExportJobsOptions {
  /** Time between progress ticks, ms. @default 200 */
  tickMs?: number
  /** Ticks until the export is done. @default 100 (20 s at the default tick) */
  ticks?: number
  /** Told about every job that starts or ends. */
  onChange?: (view: JobView) => void
}

export interface ExportJobs {
  start(input: Omit<Job, 'view' | 'settled'> & { docId: string; subject: string }): Job
  get(id: string): Job | undefined
  /** Cancels the running jobs `match` selects; returns their ids. */
  cancelWhere(match: (job: Job) => boolean, reason: string): string[]
  running(): Job[]
  /** Cancels every running job and waits for them to stop. */
  close(): Promise<void>
}

/**
 * The job table of the export worker.
 *
 * @example
 * ```ts
 * const jobs = createExportJobs({ tickMs: 200, ticks: 100 })
 * const job = jobs.start({ docId: '42', subject: 'alice', token, session, jti, iat })
 * jobs.cancelWhere((j) => j.view.subject === 'alice', 'revoked: offboarded')
 * ```
 */
export function createExportJobs(options: ExportJobsOptions = {}): ExportJobs {
  const tickMs = options.tickMs ?? 200
  const ticks = options.ticks ?? 100
  const jobs = new Map<string, Job>()
  const controllers = new Map<string, AbortController>()

  async function run(job: Job, signal: AbortSignal): Promise<JobView> {
    try {
      for (let step = 1; step <= ticks; step++) {
        // The export's unit of work; an abort interrupts it between (or during) steps.
        await tick(tickMs, undefined, { signal })
        job.view.progress = Math.floor((step / ticks) * 100)
      }
      job.view.state = 'done'
    } catch {
      job.view.state = 'cancelled'
      job.view.reason = String(signal.reason ?? 'cancelled')
    }
    controllers.delete(job.view.id)
    options.onChange?.({ ...job.view })
    return { ...job.view }
  }

  return {
    start(input) {
      const { docId, subject, ...credentials } = input
      const view: JobView = { id: randomUUID(), docId, subject, state: 'running', progress: 0 }
      const controller = new AbortController()
      const job = { ...credentials, view } as Job
      jobs.set(view.id, job)
      controllers.set(view.id, controller)
      job.settled = run(job, controller.signal)
      options.onChange?.({ ...view })
      return job
    },
    get: (id) => jobs.get(id),
    cancelWhere(match, reason) {
      const ids: string[] = []
      for (const job of jobs.values()) {
        const controller = controllers.get(job.view.id)
        if (!controller || !match(job)) continue
        controller.abort(reason)
        ids.push(job.view.id)
      }
      return ids
    },
    running: () => [...jobs.values()].filter((j) => controllers.has(j.view.id)),
    async close() {
      const stopping = [...jobs.values()].filter((j) => controllers.has(j.view.id))
      for (const job of stopping) controllers.get(job.view.id)?.abort('shutdown')
      await Promise.all(stopping.map((j) => j.settled))
    },
  }
}
