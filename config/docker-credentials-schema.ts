// Registry credentials as Docker keeps them: a Docker config file (also what a mounted
// `kubernetes.io/dockerconfigjson` Secret holds) or a docker-credential-helpers program. Only
// where to find them is configured; the worker reads them when it talks to the registry.
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { durationWithin } from './duration-schema.ts';
import { filePath } from './secret-refs.ts';

/** The part after `docker-credential-`; it becomes a program name looked up on PATH, so no paths. */
export const helperName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    'expected a helper name, the part after docker-credential- (such as ecr-login)',
  );

const helperTimeout = durationWithin({
  min: { ms: 100, why: 'a helper cannot start and answer in less' },
  // The watch's check activity has 2 minutes for a whole cycle (workflows/watch.ts).
  max: { ms: 60_000, why: 'one watch cycle checks all its images within 2 minutes' },
}).prefault('10s');

export const dockerConfigAuth = z.strictObject({
  type: z.literal('dockerConfig'),
  file: filePath,
  helperTimeout,
});

export const helperAuth = z
  .strictObject({
    type: z.literal('helper'),
    helper: helperName.optional(),
    command: z
      .string()
      .refine(
        isAbsolute,
        'expected an absolute path; to run docker-credential-NAME from PATH, set helper: NAME',
      )
      .optional(),
    timeout: helperTimeout,
  })
  .superRefine((v, ctx) => {
    if ((v.helper === undefined) === (v.command === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.helper === undefined ? 'helper' : 'command'],
        message:
          'set exactly one of helper (runs docker-credential-<helper> from PATH) or command (the absolute path of a helper)',
      });
    }
  });
