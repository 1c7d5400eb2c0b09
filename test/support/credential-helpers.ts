// The credential helpers in test/fixtures/credential-helpers: real executables that follow the
// docker-credential-helpers protocol, found on PATH as Docker finds them. The test writes their
// answers into a directory of its own and reads back which servers they were asked about.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const credentialHelpersDir = fileURLToPath(
  new URL('../fixtures/credential-helpers/', import.meta.url),
);

export interface CredentialHelpers {
  dir: string;
  /** What `docker-credential-freshet-answers get` prints: to every question, or to the Nth only. */
  answer(answer: { Username: string; Secret: string; ServerURL?: string }, nth?: number): void;
  /** The server URLs the answering helper was asked about, in order. */
  asked(): string[];
  /** No answers and no questions yet: the helper says "credentials not found" until told more. */
  reset(): void;
  remove(): void;
}

/** Puts the fixtures on PATH and gives them a directory for this test file's process. */
export function useCredentialHelpers(): CredentialHelpers {
  const dir = mkdtempSync(join(tmpdir(), 'freshet-helpers-'));
  process.env.FRESHET_HELPER_DIR = dir;
  if (!process.env.PATH?.split(delimiter).includes(credentialHelpersDir)) {
    process.env.PATH = `${credentialHelpersDir}${delimiter}${process.env.PATH ?? ''}`;
  }
  const asked = join(dir, 'asked');
  return {
    dir,
    answer(answer, nth) {
      writeFileSync(join(dir, nth === undefined ? 'answer' : `answer.${nth}`), JSON.stringify(answer));
    },
    asked: () => (existsSync(asked) ? readFileSync(asked, 'utf8').split('\n').filter(Boolean) : []),
    reset() {
      for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
