#!/usr/bin/env node
// The `vigil-enforcer` bin: the built entry, run by plain node (`npm run build` writes dist/).
import '../dist/main.js'
