#!/usr/bin/env node
/* global process */
// The `governor` command. Governor runs from its TypeScript sources through tsx's loader, so
// there is no build step between a change and the command.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
