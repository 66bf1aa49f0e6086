/**
 * The `governor` command's process: runs the command line, then ends the process. `bin/governor.js`
 * runs this file built (`dist/src/cli/bin.js`); a checkout runs it from the sources with
 * `npm run governor -- …` (`node --import tsx src/cli/bin.ts`), as the tests do.
 */
import { main } from './main.ts';
import { exitWhenDone } from './redis-deadline.ts';

// Ends the process once the command has its answer, even with a connection to a frozen Redis still open.
exitWhenDone(await main(process.argv.slice(2)));
