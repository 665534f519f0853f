import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { runCli } from '../../src/cli/run.js'
import { printableJson, printableLine } from '../../src/cli/printable.js'
import { TEST_API_KEY, startNode, type TestNode } from '../helpers/enforcer.js'

/** Anything a terminal would act on or hide: C0 and C1 controls, DEL, bidi and zero-width marks. */
const RAW = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u

describe('the CLI escapes what it prints', () => {
  let node: TestNode

  before(async () => {
    node = await startNode()
    // What an older node, or any writer with Redis access, may have put in the directory.
    await node.enforcer.store.putLiveSessions(
      'node-\u009b31m',
      [
        {
          sid: 's\u001b[2J\u0007',
          sub: 'eve\u202egnp.exe\u200b\nforged line',
          node: 'node-\u009b31m',
          roles: ['vie\u0000wer'],
          connectedAt: Date.UTC(2030, 0, 1),
          sockets: 1,
        },
      ],
      60_000,
    )
  })
  after(() => node.close())

  async function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = ''
    let stderr = ''
    const io = {
      stdout: (t: string) => void (stdout += t),
      stderr: (t: string) => void (stderr += t),
      stdin: async () => '',
    }
    const code = await runCli(args, { VIGIL_API_KEY: TEST_API_KEY, VIGIL_URL: node.url }, io)
    return { code, stdout, stderr }
  }

  it('vigil sessions prints control, format and newline characters of the data escaped', async () => {
    const run = await vigil(['sessions'])
    assert.equal(run.code, 0, run.stderr)
    const lines = run.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 2, 'a header and one row: the newline forged no line')
    for (const line of lines) assert.doesNotMatch(line, RAW)
    assert.match(lines[1]!, /s\\x1b\[2J\\x07/)
    assert.match(lines[1]!, /eve\\u\{202e\}gnp\.exe\\u\{200b\}\\x0aforged line/)
    assert.match(lines[1]!, /node-\\x9b31m/)
  })

  it('vigil sessions --json prints valid JSON with the same strings and nothing raw', async () => {
    const run = await vigil(['sessions', '--json'])
    assert.equal(run.code, 0, run.stderr)
    assert.doesNotMatch(run.stdout.replaceAll('\n', ''), RAW)
    const parsed = JSON.parse(run.stdout) as { sessions: { sub: string; node: string }[] }
    assert.equal(parsed.sessions[0]!.sub, 'eve\u202egnp.exe\u200b\nforged line')
    assert.equal(parsed.sessions[0]!.node, 'node-\u009b31m')
  })

  it('a name given on the command line is echoed escaped, on stdout and on stderr', async () => {
    const got = await vigil(['roles', 'get', 'eve\u001b]0;pwned\u0007'])
    assert.equal(got.code, 0, got.stderr)
    assert.equal(got.stdout, 'eve\\x1b]0;pwned\\x07: (no roles)\n')
    const usage = await vigil(['sessions', 'x\u001b[2J'])
    assert.equal(usage.code, 2)
    assert.doesNotMatch(usage.stderr.replaceAll('\n', ''), RAW)
    assert.match(usage.stderr, /unexpected "x\\x1b\[2J"/)
  })

  it('escaping keeps astral format characters valid JSON and leaves printable text alone', () => {
    const value = { tag: 'a\u{e0001}b', plain: 'Zoë 日本 ✓', nl: 'x\ny' }
    const text = printableJson(value)
    assert.doesNotMatch(text.replaceAll('\n', ''), RAW)
    assert.deepEqual(JSON.parse(text), value)
    assert.equal(printableLine('Zoë 日本 ✓'), 'Zoë 日本 ✓')
    assert.equal(printableLine('a\u{e0001}b\tc'), 'a\\u{e0001}b\\x09c')
  })
})
