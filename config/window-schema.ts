// A stage's change windows: when it may start a wave. The time zone is checked against this
// Node's time-zone data at load, so a typo never reaches a rollout.
import { z } from 'zod';
import { parseClock, timeZoneProblem, weekdays } from '../activities/windows/window-math.ts';

const clock = z
  .string()
  .refine((t) => parseClock(t) !== undefined, 'expected a time such as 09:00 or 17:30:00 (00:00 to 24:00)');

export const changeWindow = z
  .strictObject({
    days: z
      .array(z.enum(weekdays, { error: `days are ${weekdays.join(', ')}` }))
      .min(1, 'a window needs at least one day')
      .default([...weekdays]),
    from: clock,
    to: clock,
    timeZone: z.string().superRefine((zone, ctx) => {
      const problem = timeZoneProblem(zone);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  })
  .superRefine((w, ctx) => {
    const from = parseClock(w.from);
    const to = parseClock(w.to);
    if (from === undefined || to === undefined) return;
    if (from === to)
      ctx.addIssue({
        code: 'custom',
        path: ['to'],
        message: 'a window from and to the same time is empty; use from 00:00 to 24:00 for a whole day',
      });
    if (from === 86_400)
      ctx.addIssue({ code: 'custom', path: ['from'], message: 'a window opens at 23:59:59 at the latest' });
  });
