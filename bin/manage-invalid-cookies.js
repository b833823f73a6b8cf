#!/usr/bin/env -S node --
'use strict';
// The interactive menu; flags such as --data-dir still apply.
require('../dist/cookie-pool.cjs').main([process.argv[0], process.argv[1], 'manage', ...process.argv.slice(2)]);
