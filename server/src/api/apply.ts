import type { Response } from 'express'
import type { Change } from '../policy/schema.js'
import { sendError, sendThrown } from '../http/errors.js'
import { isUnconfirmed } from '../store/redis-wait.js'
import type { ApiDeps } from './deps.js'

/**
 * Applies one admin change through the store, audits who did it, and answers with the new
 * version — or with the store's coded refusal (400 naming paths, 404, 409 on `If-Match`).
 * A change committed but not confirmed by enough replicas is audited (it is in the store) and
 * answered 503 `store_unavailable` with `details: {applied: true, version, …}`.
 */
export async function applyAndRespond(
  deps: Pick<ApiDeps, 'store' | 'audit'>,
  res: Response,
  change: Change,
  options: { ifVersion?: number; target?: string; status?: number } = {},
): Promise<void> {
  const actor = String(res.locals['actor'] ?? 'unknown')
  try {
    const result = await deps.store.apply(change, {
      actor,
      ...(options.ifVersion === undefined ? {} : { ifVersion: options.ifVersion }),
    })
    if (!result.ok) {
      if (result.code === 'conflict') return sendError(res, 'conflict', result.message)
      return sendError(res, result.code, result.message, result.issues)
    }
    deps.audit.adminChange({
      actor,
      change: change.type,
      ...(options.target === undefined ? {} : { target: options.target }),
      ...(change.type === 'batch' ? { changes: change.changes.length } : {}),
      versionBefore: result.previousVersion,
      versionAfter: result.version,
    })
    res.setHeader('ETag', `"${result.version}"`)
    const counted = change.type === 'batch' ? { changes: change.changes.length } : {}
    res.status(options.status ?? 200).json({ version: result.version, at: result.at, ...counted })
  } catch (err) {
    if (isUnconfirmed(err)) {
      deps.audit.adminChange({
        actor,
        change: change.type,
        ...(options.target === undefined ? {} : { target: options.target }),
        versionBefore: err.details.version - 1,
        versionAfter: err.details.version,
        unconfirmed: true,
      })
    }
    sendThrown(res, err)
  }
}
