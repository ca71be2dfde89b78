#!/usr/bin/env node
// The CLI is compiled by `npm install` (the `prepare` script) or `npm run build`.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
