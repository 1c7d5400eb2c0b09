// A bound on how many calls run at once, in workflow code: deterministic, since it only orders
// promises. A wave or a rollback of 1,000 targets schedules at most `max` activities at a time.

export type Limit = <T>(work: () => Promise<T>) => Promise<T>;

export function limit(max: number): Limit {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    // A finished call hands its slot straight to the next waiter, so `active` never overshoots.
    if (active < Math.max(1, max)) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
