// Approvers in the config: plain names as before, names with Ed25519 public keys, and
// requireSignature; what the rollout input carries from them.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pipelineSpec } from '../../../activities/rollout/pipeline-spec.ts';
import { ConfigError, loadConfigFile, parseConfig } from '../../../config/load.ts';

const keys = fileURLToPath(new URL('../../fixtures/approver-keys/', import.meta.url));
const alicePem = readFileSync(`${keys}alice.pub`, 'utf8');
const bobSsh = readFileSync(`${keys}bob.pub`, 'utf8').trim();
const dir = mkdtempSync(join(tmpdir(), 'freshet-approvers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withApproval = (approval: string) => `
registries: [ { name: local, url: "http://127.0.0.1:5000" } ]
clusters: { prod: { kubeconfig: ./kube } }
images: [ { name: web, registry: local, repository: acme/web, track: { tag: "1.4" }, pipeline: web } ]
pipelines:
  web:
    stages:
      - name: production
        cluster: prod
        targets: [ { namespace: web, deployment: api } ]
        approval: ${approval}
`;

function problems(yaml: string) {
  try {
    parseConfig(yaml, 'test.yaml', { env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
    throw err;
  }
  return [];
}

const approvalOf = (yaml: string) =>
  pipelineSpec('web', parseConfig(yaml, 'test.yaml', { env: {} }).pipelines.web as never).stages[0]?.approval;

describe('approvers with public keys', () => {
  it('keeps plain names working and adds no signing fields for them', () => {
    expect(approvalOf(withApproval('{ approvers: [alice, bob] }'))).toEqual({
      timeoutMs: 86_400_000,
      approvers: ['alice', 'bob'],
    });
  });

  it('carries names and raw 32-byte keys, whatever format the config used', () => {
    const yaml = withApproval(
      `{ requireSignature: true, approvers: [ { name: alice, publicKey: ${JSON.stringify(alicePem)} }, { name: bob, publicKey: "${bobSsh}" } ] }`,
    );
    const approval = approvalOf(yaml);
    expect(approval?.approvers).toEqual(['alice', 'bob']);
    expect(approval?.requireSignature).toBe(true);
    expect(approval?.keys?.map((k) => k.name)).toEqual(['alice', 'bob']);
    for (const k of approval?.keys ?? []) expect(Buffer.from(k.publicKey, 'base64')).toHaveLength(32);
  });

  it('reads publicKeyFile relative to the config file at load', () => {
    copyFileSync(`${keys}alice.pub`, join(dir, 'alice.pub'));
    const file = join(dir, 'freshet.yaml');
    writeFileSync(
      file,
      withApproval('{ requireSignature: true, approvers: [ { name: alice, publicKeyFile: alice.pub } ] }'),
    );
    const config = loadConfigFile(file, { env: {} });
    const approval = pipelineSpec('web', config.pipelines.web as never).stages[0]?.approval;
    expect(approval?.keys).toEqual([
      {
        name: 'alice',
        publicKey: Buffer.from(alicePem.split('\n')[1] ?? '', 'base64')
          .subarray(12)
          .toString('base64'),
      },
    ]);
  });

  it('refuses a missing or wrong key file at load, naming the path', () => {
    const file = join(dir, 'missing.yaml');
    writeFileSync(
      file,
      withApproval(
        `{ approvers: [ alice, { name: bob, publicKeyFile: nope.pub }, { name: rsa, publicKeyFile: ${keys}rsa.pub } ] }`,
      ),
    );
    expect(() => loadConfigFile(file, { env: {} })).toThrow(ConfigError);
    try {
      loadConfigFile(file, { env: {} });
    } catch (err) {
      expect((err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
        `pipelines.web.stages[0].approval.approvers[1].publicKeyFile: cannot read ${join(dir, 'nope.pub')} (ENOENT)`,
        expect.stringMatching(
          /^pipelines\.web\.stages\[0\]\.approval\.approvers\[2\]\.publicKeyFile: .*rsa\.pub: a rsa key; expected an Ed25519 public key/,
        ),
      ]);
    }
  });

  it('refuses bad keys, both or neither key field, duplicates and requireSignature without keys', () => {
    expect(problems(withApproval('{ approvers: [ { name: alice, publicKey: "hello" } ] }'))).toEqual([
      expect.stringMatching(
        /^pipelines\.web\.stages\[0\]\.approval\.approvers\[0\]\.publicKey: expected an Ed25519 public key: PEM/,
      ),
    ]);
    expect(problems(withApproval('{ approvers: [ { name: alice } ] }'))).toEqual([
      expect.stringMatching(/approvers\[0\]\.publicKey: set exactly one of publicKey .* or publicKeyFile/),
    ]);
    expect(
      problems(withApproval(`{ approvers: [ { name: a, publicKey: "${bobSsh}", publicKeyFile: x } ] }`)),
    ).toEqual([expect.stringMatching(/approvers\[0\]\.publicKeyFile: set exactly one of/)]);
    expect(problems(withApproval('{ approvers: [ alice, alice ] }'))).toEqual([
      'pipelines.web.stages[0].approval.approvers[1]: "alice" is listed twice',
    ]);
    expect(problems(withApproval('{ requireSignature: true }'))).toEqual([
      'pipelines.web.stages[0].approval.requireSignature: requireSignature needs approvers with public keys: [ { name: …, publicKeyFile: … } ]',
    ]);
    expect(
      problems(
        withApproval(
          `{ requireSignature: true, approvers: [ dana, { name: bob, publicKey: "${bobSsh}" } ] }`,
        ),
      ),
    ).toEqual([
      'pipelines.web.stages[0].approval.approvers[0]: "dana" has no public key, so with requireSignature no decision of theirs could count',
    ]);
  });
});
