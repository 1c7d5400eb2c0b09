// The baseline of bench/poll-cost.ts: the obvious design the batched watch replaces, one workflow
// per image that sleeps for its interval and then checks its one image with the same activity.
import { proxyActivities, sleep } from '@temporalio/workflow';
import type { WatchActivities } from '../../activities/watch/check-images.ts';
import type { WatchedImage } from '../../workflows/watch-messages.ts';

// The same options as the batched watch's activity, so both designs record the same events.
const { checkImages } = proxyActivities<WatchActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 3 },
});

export interface NaiveWatchInput {
  image: WatchedImage;
  knownTag: string;
  knownDigest: string;
  /** Check cycles to run before completing. */
  cycles: number;
}

/** Returns how many cycles found a new digest. */
export async function naiveWatchWorkflow(input: NaiveWatchInput): Promise<number> {
  let known = { tag: input.knownTag, digest: input.knownDigest };
  let changes = 0;
  for (let i = 0; i < input.cycles; i++) {
    await sleep(input.image.intervalMs);
    const result = await checkImages({
      group: `naive-${input.image.name}`,
      requests: [{ image: input.image, knownTag: known.tag, knownDigest: known.digest }],
    });
    const change = result.changes[0];
    if (change) {
      known = { tag: change.tag, digest: change.digest };
      changes++;
    }
  }
  return changes;
}
