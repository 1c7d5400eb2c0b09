// Where the workflow code starts, for the bundler. Imports nothing but node:url, so a command
// that only needs the path never loads the daemon or the Temporal worker.
import { fileURLToPath } from 'node:url';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
