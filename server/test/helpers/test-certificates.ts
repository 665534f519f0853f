import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface TestCertificates {
  /** A throwaway CA no system trusts. */
  caFile: string
  /** A server certificate for 127.0.0.1 and localhost, signed by that CA. */
  certFile: string
  keyFile: string
}

/** Makes a CA and a server certificate with `openssl` in a temp dir (removed with `rmSync`). */
export function createTestCertificates(): TestCertificates & { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'))
  const at = (name: string): string => join(dir, name)
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  writeFileSync(at('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  const steps = [
    [
      'req',
      '-x509',
      ...ec,
      '-days',
      '2',
      '-subj',
      '/CN=vigil-test-ca',
      '-keyout',
      at('ca.key'),
      '-out',
      at('ca.crt'),
    ],
    ['req', ...ec, '-subj', '/CN=localhost', '-keyout', at('server.key'), '-out', at('server.csr')],
    [
      'x509',
      '-req',
      '-in',
      at('server.csr'),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      at('san.ext'),
      '-out',
      at('server.crt'),
    ],
  ]
  for (const step of steps) {
    const run = spawnSync('openssl', step, { encoding: 'utf8' })
    if (run.status !== 0) throw new Error(`openssl ${step[0]} failed: ${run.stderr}`)
  }
  return { dir, caFile: at('ca.crt'), certFile: at('server.crt'), keyFile: at('server.key') }
}
