#!/usr/bin/env node
/* global process */
// The `governor` command. Governor runs from its TypeScript sources through tsx's loader, so
// there is no build step between a change and the command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
const { exitWhenDone } = await import('../src/cli/redis-deadline.ts');
// Ends the process once the command has its answer, even with a connection to a frozen Redis still open.
exitWhenDone(await main(process.argv.slice(2)));
