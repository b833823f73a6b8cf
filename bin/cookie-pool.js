#!/usr/bin/env -S node --
import { main } from '../dist/cookie-pool.js';
main(process.argv);
