#!/usr/bin/env -S node --
import { main } from '../dist/cli.js';
main(process.argv);
