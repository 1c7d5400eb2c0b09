// A trivial workflow for the Temporal smoke test: one activity call, one timer.
import { proxyActivities, sleep } from '@temporalio/workflow';

export interface SmokeActivities {
  shout(text: string): Promise<string>;
}

const { shout } = proxyActivities<SmokeActivities>({ startToCloseTimeout: '10 seconds' });

export async function smokeWorkflow(name: string): Promise<string> {
  await sleep(50);
  return shout(`hello ${name}`);
}
