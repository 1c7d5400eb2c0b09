// Makes chosen host names resolve to 127.0.0.1 inside this test process, so a registry that
// must be configured under its public name (GHCR's webhooks always name ghcr.io) can be served
// by a local registry. Node's fetch connects through node:net, which looks names up with
// dns.lookup from the shared node:dns module, so replacing it here reaches the daemon's
// registry clients running in the same process; nothing outside the process is affected.
import dns, { type LookupAddress, type LookupOptions } from 'node:dns';

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** Resolves `hosts` to 127.0.0.1 until the returned function is called. */
export function resolveLocally(hosts: readonly string[]): () => void {
  const original = dns.lookup;
  const local = new Set(hosts.map((h) => h.toLowerCase()));
  function lookup(hostname: string, ...rest: [LookupOptions | number | LookupCallback, LookupCallback?]) {
    const [options, callback] = rest;
    const done = typeof options === 'function' ? options : callback;
    if (!done || !local.has(hostname.toLowerCase())) {
      (original as (...args: unknown[]) => void).call(dns, hostname, ...rest);
      return;
    }
    const all = typeof options === 'object' && options.all === true;
    if (all) process.nextTick(done, null, [{ address: '127.0.0.1', family: 4 }]);
    else process.nextTick(done, null, '127.0.0.1', 4);
  }
  dns.lookup = lookup as typeof dns.lookup;
  return () => {
    dns.lookup = original;
  };
}
