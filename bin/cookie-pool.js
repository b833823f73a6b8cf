#!/usr/bin/env -S node --
'use strict';
// CommonJS (bin/package.json), as the bundle it requires: Node then starts without its ES loader.
require('../dist/cookie-pool.cjs').main(process.argv);
