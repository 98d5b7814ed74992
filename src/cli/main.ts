// Entry point. The signal handlers go in before anything else is loaded: as PID 1, a
// signal without a handler is dropped, and loading the rest takes a few hundred ms.
import { SignalInbox } from '../init/signal-inbox.js';

const inbox = new SignalInbox();
// Read at once: a parent that dies while the rest loads must still be told from the one we had.
const parentPidAtStart = process.ppid;

// A dynamic import: esbuild evaluates the rest of the bundle only now, after the handlers.
import('./run-main.js')
  .then(({ runMain }) => runMain(inbox, parentPidAtStart))
  .then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      process.stderr.write(`metamcp-init: cannot start: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
