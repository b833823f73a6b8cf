#!/usr/bin/env -S node --
import { main } from '../dist/cookie-pool.js';
// The interactive menu; flags such as --data-dir still apply.
main([process.argv[0], process.argv[1], 'manage', ...process.argv.slice(2)]);
