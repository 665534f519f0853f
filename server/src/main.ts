import type { Standalone } from './standalone.js'

/**
 * The `vigil` bin. With a command (`vigil revoke --subject alice`, `vigil --help`) it is the admin
 * CLI, talking to a running enforcer's HTTP API. Without one (or with `serve`) it is the
 * standalone enforcer: configuration from the environment, one HTTP server, and a graceful drain
 * on SIGTERM/SIGINT — stop accepting, finish in-flight requests, flush the audit log, exit 0.
 */
// The server modules load only for `serve`, so an admin command starts in a fraction of the time.
const command = process.argv[2]
if (command !== undefined && command !== 'serve') {
  const { runCli } = await import('./cli/run.js')
  process.exitCode = await runCli(process.argv.slice(2), process.env)
} else {
  await serve()
}

async function serve(): Promise<void> {
  const { loadConfig } = await import('./config.js')
  const { createLogger } = await import('./logger.js')
  const { startStandalone } = await import('./standalone.js')
  const { describeStartupFailure } = await import('./startup-failure.js')
  const parsed = loadConfig(process.env)
  if (!parsed.ok) {
    // One line, every problem in it: an operator fixes the deployment in one round.
    process.stderr.write(`vigil: invalid configuration: ${parsed.problems.join('; ')}\n`)
    process.exit(1)
  }
  const config = parsed.config
  const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId })

  let node: Standalone
  try {
    node = await startStandalone(config, logger)
  } catch (err) {
    // A start-up failure is the deployment's, not a bug: the cause in one line, no stack trace
    // (LOG_LEVEL=debug logs the error whole). The log line carries the stable code.
    const failure = describeStartupFailure(err, config)
    logger.debug({ err }, 'start-up error')
    logger.fatal({ code: failure.code }, 'could not start')
    logger.flush()
    process.stderr.write(`${failure.line}\n`)
    process.exit(1)
  }
  logger.info({ url: node.url, store: node.enforcer.store.kind }, `vigil listening on ${node.url}`)
  const sharedFrom = node.enforcer.sharedApiKeyFrom
  if (sharedFrom) {
    // Another node on this store generated the deployment's development key: use that one.
    process.stderr.write(
      `\nVIGIL_API_KEY: this store's development key was generated and printed by node ` +
        `${sharedFrom}; use that key here too (or set VIGIL_API_KEY on every node)\n\n`,
    )
  } else if (config.apiKeyGenerated) {
    // Shown once, on the terminal only, so a developer can call the API; never logged.
    process.stderr.write(`\nVIGIL_API_KEY (generated for this run): ${config.apiKey}\n\n`)
  }

  let draining = false
  async function drain(signal: string): Promise<void> {
    if (draining) return
    draining = true
    logger.info({ signal }, 'draining')
    await node.drain()
    logger.info('drained')
    logger.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => void drain('SIGTERM'))
  process.on('SIGINT', () => void drain('SIGINT'))
}
