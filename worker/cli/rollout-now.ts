// `freshet rollout IMAGE`: asks for a rollout of an image now, the way the watch does on a new
// digest (signal-with-start of the pipeline workflow).
import type { Client } from '@temporalio/client';
import { requestRollout } from '../../activities/rollout/request.ts';
import type { Config } from '../../config/schema.ts';
import { hasSearchAttributes } from '../rollouts.ts';
import { watchStatuses } from '../watches.ts';
import { CliError, shortDigest } from './output.ts';

export async function rolloutCommand(
  client: Client,
  config: Config,
  imageName: string,
  digest: string | undefined,
  tag: string | undefined,
): Promise<string> {
  const image = config.images.find((i) => i.name === imageName);
  if (!image) {
    throw new CliError(
      `no image named "${imageName}" (images: ${config.images.map((i) => i.name).join(', ') || 'none'})`,
    );
  }
  if (!image.pipeline) throw new CliError(`image ${imageName} has no pipeline to roll out through`);
  const state = (await watchStatuses(client, config))
    .flatMap((s) => s.images)
    .find((i) => i.image.name === imageName)?.state;
  const chosenDigest = digest ?? state?.latest?.digest;
  if (!chosenDigest) {
    throw new CliError(
      `the watch has not seen ${imageName} yet; pass --digest sha256:… to roll out a given build`,
    );
  }
  if (!/^sha256:[a-f0-9]{64}$/.test(chosenDigest)) throw new CliError(`not a digest: ${chosenDigest}`, 2);
  const chosenTag = tag ?? state?.latest?.tag ?? image.track.tag;
  if (!chosenTag)
    throw new CliError('pass --tag: the image follows a version policy and no tag is known yet', 2);
  const { rolloutId } = await requestRollout(
    { client, config, searchAttributes: await hasSearchAttributes(client, config.temporal.namespace) },
    {
      pipeline: image.pipeline,
      image: image.name,
      registry: image.registry,
      repository: image.repository,
      tag: chosenTag,
      digest: chosenDigest,
      trigger: 'manual',
      detectedAt:
        state?.latest?.digest === chosenDigest ? state.latest.firstSeenAt : new Date().toISOString(),
    },
  );
  return `requested ${rolloutId} (${image.repository}:${chosenTag}@${shortDigest(chosenDigest)} through pipeline ${image.pipeline})`;
}
