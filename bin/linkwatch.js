#!/usr/bin/env node
// The CLI is compiled by `npm install` (the `prepare` script) or `npm run build`.
// `linkwatch collector --bounded-heap`: the heap settings come before anything else is loaded, since V8 grows its
// young generation while the CLI's modules load and a busy process never gives it back (collector/heap.ts).
if (process.argv[2] === 'collector' && process.argv.slice(3).includes('--bounded-heap')) (await import('../dist/collector/heap.js')).boundCollectorHeap();
const { main } = await import('../dist/cli/main.js');

process.exitCode = await main(process.argv);
