import { VigilError } from '@vigil-enforcer/client/protocol'
import type { Config } from './config.js'
import { describeTopology, redactUrl } from './store/redis-connection.js'

/**
 * Why a node could not start, as one line an operator can act on: the port that is taken, the
 * Redis it could not reach (credentials removed), the setting that disagrees. No stack trace: a
 * start-up failure is a deployment problem, not a bug, and a trace buries the one fact that
 * matters. `code` is stable, for the structured log line beside it.
 */
export interface StartupFailure {
  code: string
  line: string
}

/** The variable that names each topology, for the operator to check. */
const SETTING = { url: 'REDIS_URL', sentinel: 'REDIS_SENTINELS', cluster: 'REDIS_CLUSTER_NODES' }

/** What a listen error carries (node's `net` errors). */
interface ListenError {
  code?: unknown
  syscall?: unknown
  address?: unknown
  port?: unknown
}

/**
 * Describes an error thrown while a node starts (`startStandalone`, `createEnforcer`).
 *
 * @example
 * ```ts
 * try { await startStandalone(config, logger) } catch (err) {
 *   const failure = describeStartupFailure(err, config)
 *   process.stderr.write(`${failure.line}\n`)
 *   process.exit(1)
 * }
 * // vigil: cannot listen on 127.0.0.1:3000: the port is already in use (set PORT to a free port)
 * ```
 */
export function describeStartupFailure(err: unknown, config: Config): StartupFailure {
  const listen = listenFailure(err, config)
  if (listen) return listen
  if (err instanceof VigilError) {
    if (err.code === 'store_unavailable' && config.redis) {
      const where = describeTopology(config.redis)
      const why = causeOf(err)
      const setting = SETTING[config.redis.kind]
      return {
        code: err.code,
        line: `vigil: cannot reach the Redis store at ${where} (${why ? `${why}; ` : ''}check ${setting})`,
      }
    }
    return { code: err.code, line: `vigil: cannot start: ${oneLine(err.message)}` }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'internal', line: `vigil: cannot start: ${oneLine(message)}` }
}

function listenFailure(err: unknown, config: Config): StartupFailure | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ListenError
  if (e.syscall !== 'listen' || typeof e.code !== 'string') return undefined
  const port = typeof e.port === 'number' ? e.port : config.port
  const address = typeof e.address === 'string' ? e.address : config.host
  const where = `${address.includes(':') ? `[${address}]` : address}:${port}`
  const hint: Record<string, string> = {
    EADDRINUSE: 'the port is already in use (set PORT to a free port)',
    EACCES: 'permission denied (a port below 1024 needs privileges; set PORT)',
    EADDRNOTAVAIL: 'no such address on this machine (set HOST)',
  }
  const why = hint[e.code] ?? e.code
  return { code: e.code, line: `vigil: cannot listen on ${where}: ${why}` }
}

/** The network reason behind a store failure (`ECONNREFUSED`, a TLS refusal), never credentials. */
function causeOf(err: Error): string | undefined {
  const cause = err.cause as { name?: unknown; code?: unknown; message?: unknown } | undefined
  // ioredis's give-up says only how often it retried, not why: better no reason than that one.
  if (!cause || cause.name === 'MaxRetriesPerRequestError') return undefined
  const code = typeof cause.code === 'string' ? cause.code : undefined
  const message = typeof cause.message === 'string' ? redactUrls(oneLine(cause.message)) : ''
  if (code && message.includes(code)) return message
  return code && message ? `${code}: ${message}` : code || message || undefined
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ').trim()

/** Any URL with userinfo in a driver's message loses it, as in the store's own log lines. */
const redactUrls = (text: string): string =>
  text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s/@]*@[^\s]*/gi, (url) => redactUrl(url))
