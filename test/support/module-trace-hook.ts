// Loaded with `node --import` into a child process: when the process exits, writes the URL of
// every module it loaded (ES modules and CommonJS alike: the hooks see both) to the file named
// by $FRESHET_MODULE_TRACE, one per line.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const out = process.env.FRESHET_MODULE_TRACE;
if (out) {
  const loaded: string[] = [];
  registerHooks({
    load(url, context, nextLoad) {
      loaded.push(url);
      return nextLoad(url, context);
    },
  });
  process.on('exit', () => writeFileSync(out, `${loaded.join('\n')}\n`));
}
