#!/usr/bin/env node
// The `freshet` command line: the daemon and the operator commands around it. Each command
// imports its modules when it runs: --help and validate-config never load Temporal or the
// Kubernetes client, and only start and bundle-workflows load the Temporal worker.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import type { Config } from '../../config/schema.ts';
import { CliError } from './output.ts';

// Node keeps what it compiled (TypeScript stripped of its types, V8 code) on disk, so the next
// run of a command compiles none of its modules again: the first run after an install or an
// upgrade pays for it. A cache that cannot be written (a read-only home) is silently skipped.
// NODE_COMPILE_CACHE=DIR puts it elsewhere, NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache(
  process.env.NODE_COMPILE_CACHE ??
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'freshet', 'node-compile-cache'),
);

const options = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  all: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  by: { type: 'string' },
  comment: { type: 'string' },
  key: { type: 'string' },
  digest: { type: 'string' },
  tag: { type: 'string' },
  listen: { type: 'string' },
  grace: { type: 'string' },
  'log-level': { type: 'string' },
  pretty: { type: 'boolean' },
  'json-logs': { type: 'boolean' },
  'check-secrets': { type: 'boolean' },
  'workflow-bundle': { type: 'string' },
  out: { type: 'string' },
  pipeline: { type: 'string' },
  until: { type: 'string' },
  reason: { type: 'string' },
} as const;

async function main(argv: string[]): Promise<number> {
  // Imported here, not above, so that the compile cache serves it.
  const { help } = await import('./help.ts');
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(help.main);
    return command ? 0 : 2;
  }
  if (!(command in help) || command === 'main') {
    console.error(`freshet: unknown command "${command}"\n\n${help.main}`);
    return 2;
  }
  let parsed: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
  } catch (err) {
    console.error(`freshet ${command}: ${(err as Error).message}\n\n${help[command]}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(help[command]);
    return 0;
  }
  const need = (value: string | undefined, what: string): string => {
    if (!value) throw new CliError(`freshet ${command}: ${what}\n\n${help[command]}`, 2);
    return value;
  };
  const print = (text: string) => {
    console.log(text);
    return 0;
  };

  /** A command that talks to Temporal: the config parses before the client or the command loads. */
  const withTemporal = async (
    load: () => Promise<(client: Client, config: Config) => Promise<string>>,
  ): Promise<number> => {
    const { loadConfig, withClient } = await import('./context.ts');
    const config = loadConfig(v.config);
    const run = await load();
    return print(await withClient(config, (client) => run(client, config)));
  };

  switch (command) {
    case 'start': {
      (await import('./young-generation.ts')).execWithSmallYoungGeneration();
      const [{ configPath, loadConfig }, { parseDuration }] = await Promise.all([
        import('./context.ts'),
        import('../../config/duration.ts'),
      ]);
      const path = configPath(v.config);
      const graceMs = v.grace ? parseDuration(v.grace) : 30_000;
      if (graceMs === undefined)
        throw new CliError(`--grace: expected a duration such as 30s, not "${v.grace}"`, 2);
      const bundle = v['workflow-bundle'] ?? process.env.FRESHET_WORKFLOW_BUNDLE;
      if (bundle && !existsSync(bundle)) throw new CliError(`workflow bundle ${bundle} not found`, 2);
      const config = loadConfig(path);
      const { startCommand } = await import('./start.ts');
      return startCommand({
        config,
        configPath: path,
        graceMs,
        ...(bundle ? { workflowBundlePath: bundle } : {}),
        ...(v.listen ? { listen: v.listen } : {}),
        ...(v['log-level'] ? { logLevel: v['log-level'] } : {}),
        ...(v.pretty ? { pretty: true } : v['json-logs'] ? { pretty: false } : {}),
      });
    }
    case 'bundle-workflows': {
      const [bundles, { workflowsPath }] = await Promise.all([
        import('../workflow-bundle.ts'),
        import('../workflows-path.ts'),
      ]);
      const { hash } = bundles.workflowBundleInputs(workflowsPath);
      const out = v.out ?? positionals[0] ?? bundles.cachedWorkflowBundlePath(hash);
      const code = await bundles.buildWorkflowBundle(workflowsPath);
      bundles.writeWorkflowBundle(out, code, hash);
      return print(`wrote ${out} (${Math.round(code.length / 1024)} KiB, inputs ${hash.slice(0, 20)})`);
    }
    case 'validate-config': {
      const file = need(positionals[0] ?? v.config, 'which file? freshet validate-config FILE');
      const { ConfigError, loadConfigFile } = await import('../../config/load.ts');
      try {
        const config = loadConfigFile(file, { checkSecrets: Boolean(v['check-secrets']) });
        return print(
          `${file}: OK (${config.registries.length} registries, ${Object.keys(config.clusters).length} clusters, ` +
            `${config.images.length} images, ${Object.keys(config.pipelines).length} pipelines)`,
        );
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(err.message);
          return 1;
        }
        throw err;
      }
    }
    case 'status': {
      const json = Boolean(v.json);
      return withTemporal(async () => {
        const { statusCommand } = await import('./rollouts.ts');
        return (client, config) => statusCommand(client, config, json);
      });
    }
    case 'freshness': {
      const json = Boolean(v.json);
      return withTemporal(async () => {
        const run = v.all
          ? (await import('./inventory.ts')).inventoryCommand
          : (await import('./freshness.ts')).freshnessCommand;
        return (client, config) => run(client, config, json);
      });
    }
    case 'approve':
    case 'reject': {
      const rollout = need(positionals[0], 'which rollout? (freshet status lists them)');
      const by = need(v.by, 'say who decides: --by NAME');
      return withTemporal(async () => {
        const { decideCommand } = await import('./rollouts.ts');
        return (client, config) => decideCommand(client, config, command, rollout, by, v.comment, v.key);
      });
    }
    case 'pause':
    case 'resume':
    case 'abort': {
      const rollout = need(positionals[0], 'which rollout? (freshet status lists them)');
      return withTemporal(async () => {
        const { controlCommand } = await import('./rollouts.ts');
        return (client, config) => controlCommand(client, config, command, rollout, v.by);
      });
    }
    case 'freeze': {
      const reason = need(v.reason?.trim(), 'say why: --reason TEXT');
      return withTemporal(async () => {
        const { freezeCommand } = await import('./freeze.ts');
        return (client, config) =>
          freezeCommand(client, config, {
            reason,
            ...(v.pipeline ? { pipeline: v.pipeline } : {}),
            ...(v.until ? { until: v.until } : {}),
            ...(v.by ? { by: v.by } : {}),
          });
      });
    }
    case 'unfreeze':
      return withTemporal(async () => {
        const { unfreezeCommand } = await import('./freeze.ts');
        return (client, config) =>
          unfreezeCommand(client, config, {
            ...(v.pipeline ? { pipeline: v.pipeline } : {}),
            ...(v.by ? { by: v.by } : {}),
          });
      });
    case 'rollout': {
      const image = need(positionals[0], 'which image? (its name in the config)');
      return withTemporal(async () => {
        const { rolloutCommand } = await import('./rollout-now.ts');
        return (client, config) => rolloutCommand(client, config, image, v.digest, v.tag);
      });
    }
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof CliError) {
      console.error(err.message);
      process.exit(err.exitCode);
    }
    console.error(`freshet: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
