// Credentials of a health check (HTTP or Prometheus): headers, Basic auth or a bearer token, each
// a reference the health activity resolves when it runs the check. The workflow only ever sees
// the check's name and URL, so no credential reaches a history.
import { z } from 'zod';
import { basicAuthFields, checkBasicAuth, exactlyOneSecret, secretRef } from './secret-refs.ts';

/** RFC 9110 field names: a token of visible characters without separators. */
const headerNamePattern = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const headerValue = z.strictObject({ ...secretRef('value') }).superRefine(exactlyOneSecret('value'));

export const checkAuthFields = {
  headers: z
    .record(z.string(), headerValue)
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers)) {
        if (!headerNamePattern.test(name))
          ctx.addIssue({ code: 'custom', message: `"${name}" is not a valid HTTP header name` });
      }
    })
    .optional(),
  basicAuth: z.strictObject(basicAuthFields).superRefine(checkBasicAuth).optional(),
  bearer: z
    .strictObject({ ...secretRef('token') })
    .superRefine(exactlyOneSecret('token'))
    .optional(),
};

/** One way to set Authorization: basicAuth, bearer or an Authorization header. */
export function checkOneAuthorization(
  v: { headers?: Record<string, unknown> | undefined; basicAuth?: unknown; bearer?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (v.basicAuth !== undefined && v.bearer !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'set at most one of basicAuth or bearer; both would set the Authorization header',
    });
    return;
  }
  const by = v.basicAuth !== undefined ? 'basicAuth' : v.bearer !== undefined ? 'bearer' : undefined;
  const header = Object.keys(v.headers ?? {}).find((h) => h.toLowerCase() === 'authorization');
  if (by && header) {
    ctx.addIssue({
      code: 'custom',
      path: ['headers', header],
      message: `${by} already sets the Authorization header`,
    });
  }
}
