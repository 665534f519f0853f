#!/usr/bin/env node
// The `vigil` bin: runs the TypeScript entry through tsx, resolved from this package.
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
