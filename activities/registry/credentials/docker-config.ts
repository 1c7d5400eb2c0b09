// Credentials for one registry from a Docker config file (`~/.docker/config.json`, or a mounted
// `kubernetes.io/dockerconfigjson` Secret), through the helpers the file names. The kubelet
// replaces a mounted Secret in place (a new file behind a symlink), so the file is read again
// whenever its inode, size or times change; looking costs one stat, at most once a second.
import { readFile, stat } from 'node:fs/promises';
import type { CredentialSource, StaticAuth } from '../auth.ts';
import {
  credentialsFor,
  type DockerConfigCredentials,
  DockerConfigError,
  parseDockerConfig,
} from './docker-config-file.ts';
import { HelperCredentialSource } from './helper.ts';
import { type RegistryName, registryNameOf } from './hosts.ts';

export interface DockerConfigSourceOptions {
  file: string;
  registryUrl: URL;
  /** Deadline of each helper the file names. */
  helperTimeoutMs: number;
  /** How long a look at the file's stat stays good. */
  recheckMs?: number;
}

type Reading = { ok: true; credentials: DockerConfigCredentials } | { ok: false; problem: string };

export class DockerConfigSource implements CredentialSource {
  readonly describe: string;
  readonly #opts: DockerConfigSourceOptions;
  readonly #name: RegistryName;
  /** Helpers by name, kept across re-reads so their cached answers survive an unrelated edit. */
  readonly #helpers = new Map<string, HelperCredentialSource>();
  #stamp: string | undefined;
  #reading: Reading | undefined;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #pendingRead: Promise<Reading> | undefined;

  constructor(opts: DockerConfigSourceOptions) {
    this.#opts = opts;
    this.#name = registryNameOf(opts.registryUrl);
    this.describe = `docker config ${opts.file}`;
  }

  async get(): Promise<StaticAuth> {
    const reading = await this.#read();
    if (!reading.ok) throw new Error(reading.problem);
    const found = reading.credentials;
    if (found.kind === 'none') return { type: 'anonymous' };
    if (found.kind === 'static') return found.auth;
    try {
      return await this.#helper(found.helper).get();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`docker-credential-${found.helper} (${found.where}): ${reason}`);
    }
  }

  invalidate(auth: StaticAuth): void {
    for (const helper of this.#helpers.values()) helper.invalidate(auth);
    // The file may have changed within the last second: look again before the next request.
    this.#checkedAt = Number.NEGATIVE_INFINITY;
  }

  #helper(name: string): HelperCredentialSource {
    let helper = this.#helpers.get(name);
    if (!helper) {
      helper = new HelperCredentialSource({
        helper: name,
        serverAddress: this.#name.serverAddress,
        timeoutMs: this.#opts.helperTimeoutMs,
        notFound: 'anonymous',
      });
      this.#helpers.set(name, helper);
    }
    return helper;
  }

  /** What the file says now: parsed again only when its stat changed; concurrent checks share one look. */
  #read(): Promise<Reading> {
    if (this.#reading && Date.now() - this.#checkedAt < (this.#opts.recheckMs ?? 1_000)) {
      return Promise.resolve(this.#reading);
    }
    this.#pendingRead ??= this.#look().finally(() => {
      this.#pendingRead = undefined;
    });
    return this.#pendingRead;
  }

  async #look(): Promise<Reading> {
    this.#checkedAt = Date.now();
    const { file } = this.#opts;
    let stamp: string;
    try {
      const s = await stat(file);
      stamp = `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
    } catch (err) {
      this.#stamp = undefined;
      this.#reading = { ok: false, problem: `cannot read it (${(err as NodeJS.ErrnoException).code})` };
      return this.#reading;
    }
    if (this.#reading && stamp === this.#stamp) return this.#reading;
    this.#stamp = stamp;
    try {
      const config = parseDockerConfig(await readFile(file, 'utf8'));
      this.#reading = { ok: true, credentials: credentialsFor(config, this.#name) };
    } catch (err) {
      const problem =
        err instanceof DockerConfigError
          ? err.message
          : `cannot read it (${(err as NodeJS.ErrnoException).code})`;
      this.#reading = { ok: false, problem };
    }
    return this.#reading;
  }
}
