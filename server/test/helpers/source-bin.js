#!/usr/bin/env node
// The `vigil-enforcer` bin run from the TypeScript source, for tests and the workspace dev loop:
// tsx compiles on the fly (with the workspace's tsconfig paths), so a test never runs a stale
// dist/. The published bin (server/bin/vigil.js) runs the built dist/ with plain node.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) })
await import('../../src/main.ts')
