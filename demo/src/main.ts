import { createLogger, describeStartupFailure, loadConfig } from '@vigil-enforcer/server'
import { startDemo, type Demo } from './app.js'

/** `npm start`: the enforcer and the live revocation demo on one port. */
const parsed = loadConfig(process.env)
if (!parsed.ok) {
  process.stderr.write(`vigil demo: invalid configuration: ${parsed.problems.join('; ')}\n`)
  process.exit(1)
}
const { config } = parsed
const logger = createLogger({ level: config.logLevel, nodeId: config.nodeId })
let demo: Demo
try {
  demo = await startDemo(config, logger)
} catch (err) {
  // The cause in one line (a busy port, an unreachable Redis), no stack trace; exit 1.
  const failure = describeStartupFailure(err, config)
  logger.fatal({ code: failure.code }, 'could not start')
  logger.flush()
  process.stderr.write(`${failure.line}\n`)
  process.exit(1)
}
logger.info({ url: demo.url, store: demo.enforcer.store.kind }, 'vigil demo listening')
process.stdout.write(
  `\n  Vigil live revocation demo (${demo.enforcer.store.kind} store)\n` +
    `  workspace      ${demo.workspaceUrl}\n` +
    `  admin console  ${demo.adminUrl}\n\n`,
)
if (demo.enforcer.sharedApiKeyFrom) {
  process.stderr.write(
    `  VIGIL_API_KEY: generated and printed by node ${demo.enforcer.sharedApiKeyFrom} of this store\n\n`,
  )
} else if (config.apiKeyGenerated) {
  process.stderr.write(`  VIGIL_API_KEY (generated for this run): ${config.apiKey}\n\n`)
}
let stopping = false
const stop = async (): Promise<void> => {
  if (stopping) return
  stopping = true
  await demo.close()
  logger.flush()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
