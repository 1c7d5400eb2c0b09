// A registry standing in for an ECR registry: the Distribution server with an htpasswd entry made
// from the token moto hands out (user AWS, the token's password), so it accepts exactly the
// credentials ECR's GetAuthorizationToken gives. Distribution rereads htpasswd when the file
// changes, so a test can make it refuse that token (as ECR refuses a revoked one) and accept it again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaries } from '../../stack/layout.ts';
import { type MotoToken, motoEcrToken } from './moto.ts';
import { startTestRegistry, type TestRegistry } from './registry-process.ts';

export interface EcrTestRegistry {
  registry: TestRegistry;
  /** moto's token for this registry; its username and password push images. */
  token: MotoToken;
  /** Makes the registry accept only `password` for user AWS from its next request on. */
  acceptOnly(password: string): void;
  remove(): Promise<void>;
}

export async function startEcrTestRegistry(opts: {
  motoUrl: string;
  region: string;
  registryId: string;
}): Promise<EcrTestRegistry> {
  const token = await motoEcrToken(opts.motoUrl, opts.region, opts.registryId);
  const dir = mkdtempSync(join(tmpdir(), 'freshet-ecr-registry-'));
  const htpasswd = join(dir, 'htpasswd');
  const acceptOnly = (password: string) =>
    writeFileSync(
      htpasswd,
      execFileSync(binaries().htpasswd, ['-nbB', token.username, password], { encoding: 'utf8' }),
    );
  acceptOnly(token.password);
  const registry = await startTestRegistry({ htpasswd });
  return {
    registry,
    token,
    acceptOnly,
    async remove() {
      await registry.remove();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
