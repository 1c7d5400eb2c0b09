// The docker-credential-helpers protocol: `docker-credential-NAME get` reads the server URL on
// stdin and prints {"ServerURL","Username","Secret"}. This one mechanism serves ECR
// (docker-credential-ecr-login), Google (docker-credential-gcr) and Azure (docker-credential-acr-env)
// through their published helpers. The answer is cached until the registry refuses it.
import { z } from 'zod';
import { formatDuration } from '../../../config/duration.ts';
import { type CredentialSource, type StaticAuth, secretsOf } from '../auth.ts';
import { redact } from '../errors.ts';
import { HelperStartError, runHelper } from './helper-process.ts';

/** What every helper prints, exiting 1, when it holds nothing for the server (credentials/error.go). */
export const credentialsNotFoundMessage = 'credentials not found in native keychain';

/** A helper's Username meaning "Secret is an identity token" (Docker's nativeStore). */
const identityTokenUsername = '<token>';

const answerSchema = z.looseObject({
  ServerURL: z.string().optional(),
  Username: z.string(),
  Secret: z.string().min(1, 'is empty'),
});

/** Reads a helper's stdout. The problem never quotes it: it would hold the secret. */
export function parseHelperAnswer(
  stdout: string,
): { kind: 'credentials'; auth: StaticAuth } | { kind: 'garbage'; problem: string } {
  const garbage = (detail: string) => ({
    kind: 'garbage' as const,
    problem: `the helper printed something that is not its JSON answer (${detail})`,
  });
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return garbage(stdout.trim() === '' ? 'nothing' : 'not JSON');
  }
  const parsed = answerSchema.safeParse(json);
  if (!parsed.success) {
    return garbage(parsed.error.issues.map((i) => `${i.path.join('.') || 'answer'} ${i.message}`).join('; '));
  }
  const { Username, Secret } = parsed.data;
  if (Username === identityTokenUsername)
    return { kind: 'credentials', auth: { type: 'identityToken', token: Secret } };
  return { kind: 'credentials', auth: { type: 'basic', username: Username, password: Secret } };
}

/** Long runs of token characters with letters and digits: keys, JWT parts, base64 credentials. */
const tokenLike = /[A-Za-z0-9+/_=-]{20,}/g;
const secretAssignment = /((?:secret|password|passwd|token|key)["']?\s*[:=]\s*["']?)[^\s"',}]+/gi;
const maxOutputChars = 500;

/**
 * A helper's own words for an error, safe to show: every secret it ever handed out and anything
 * that looks like one replaced, whitespace collapsed, at most 500 characters.
 */
export function helperOutputForError(output: string, knownSecrets: readonly string[]): string {
  const text = redact(output, knownSecrets)
    .replace(secretAssignment, '$1[redacted]')
    .replace(tokenLike, (run) => (/[0-9]/.test(run) && /[A-Za-z]/.test(run) ? '[redacted]' : run))
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > maxOutputChars ? `${text.slice(0, maxOutputChars)}…` : text;
}

export interface HelperSourceOptions {
  /** The name after `docker-credential-`, run from PATH; or the program's absolute path in `command`. */
  helper?: string;
  command?: string;
  /** What the helper is asked for on stdin (see hosts.ts registryNameOf). */
  serverAddress: string;
  timeoutMs: number;
  /**
   * Docker reads "credentials not found" as "no credentials" and pulls anonymously; a helper
   * configured for one registry on purpose makes it an error instead.
   */
  notFound: 'anonymous' | 'error';
}

export class HelperCredentialSource implements CredentialSource {
  readonly describe: string;
  readonly #opts: HelperSourceOptions;
  readonly #program: string;
  #cached: StaticAuth | undefined;
  #pending: Promise<StaticAuth> | undefined;
  /** Every secret handed out, kept out of later error messages. */
  readonly #secrets = new Set<string>();

  constructor(opts: HelperSourceOptions) {
    this.#opts = opts;
    this.#program = opts.command ?? `docker-credential-${opts.helper}`;
    this.describe = this.#program;
  }

  /** The cached answer, or one new run of the helper shared by every concurrent caller. */
  get(): Promise<StaticAuth> {
    if (this.#cached) return Promise.resolve(this.#cached);
    this.#pending ??= this.#ask().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  invalidate(auth: StaticAuth): void {
    if (this.#cached === auth) this.#cached = undefined;
  }

  async #ask(): Promise<StaticAuth> {
    const { serverAddress, timeoutMs } = this.#opts;
    let exit: Awaited<ReturnType<typeof runHelper>>;
    try {
      exit = await runHelper({ command: this.#program, args: ['get'], input: serverAddress, timeoutMs });
    } catch (err) {
      throw new Error(this.#startProblem(err));
    }
    const said = (output: string) => {
      const text = helperOutputForError(output, [...this.#secrets]);
      return text ? `: ${text}` : '';
    };
    switch (exit.kind) {
      case 'timed-out':
        throw new Error(
          `get did not answer within ${formatDuration(timeoutMs)}; killed it${said(exit.stderr)}`,
        );
      case 'too-much-output':
        throw new Error('get printed more than 64 KiB, which is no JSON answer; killed it');
      case 'signalled':
        throw new Error(`get was killed by ${exit.signal}${said(exit.stderr)}`);
    }
    if (exit.code !== 0) {
      if (exit.stdout.trim() === credentialsNotFoundMessage) return this.#notFound();
      // Helpers print their error on stdout (credentials.Serve); some use stderr.
      throw new Error(`get exited with code ${exit.code}${said(`${exit.stdout} ${exit.stderr}`)}`);
    }
    const answer = parseHelperAnswer(exit.stdout);
    if (answer.kind === 'garbage') throw new Error(answer.problem);
    for (const secret of secretsOf(answer.auth)) this.#secrets.add(secret);
    this.#cached = answer.auth;
    return answer.auth;
  }

  #notFound(): StaticAuth {
    if (this.#opts.notFound === 'error')
      throw new Error(`has no credentials for ${this.#opts.serverAddress}`);
    const anonymous: StaticAuth = { type: 'anonymous' };
    this.#cached = anonymous;
    return anonymous;
  }

  #startProblem(err: unknown): string {
    const code = err instanceof HelperStartError ? err.code : undefined;
    if (code === 'ENOENT') {
      return this.#opts.command
        ? `${this.#opts.command} does not exist`
        : `${this.#program} is not on PATH; install it, or set command to its absolute path`;
    }
    if (code === 'EACCES') return `${this.#program} is not executable`;
    return `cannot run ${this.#program}: ${err instanceof Error ? err.message : String(err)}`;
  }
}
