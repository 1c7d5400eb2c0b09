import { describe, expect, it } from 'vitest';
import { collectedGauges, createMetrics, scrapeCache } from '../../../worker/metrics.ts';

const target = {
  pipeline: 'web',
  stage: 'production',
  namespace: 'prod',
  deployment: 'web',
  container: 'app',
  image: 'web',
};

describe('scrapeCache', () => {
  it('renders what the registry renders, once a collection has refreshed it', async () => {
    const metrics = createMetrics();
    const scrape = scrapeCache(metrics.registry);
    metrics.imageUpToDate.set(target, 1);
    metrics.rollouts.inc({ pipeline: 'web', outcome: 'succeeded' });
    expect(await scrape.render()).toBe(await metrics.registry.metrics());
    await scrape.refresh();
    expect(await scrape.render()).toBe(await metrics.registry.metrics());
  });

  it('serves the collected gauges as the last collection left them and counters live', async () => {
    const metrics = createMetrics();
    const scrape = scrapeCache(metrics.registry);
    metrics.imageUpToDate.set(target, 0);
    await scrape.refresh();
    metrics.imageUpToDate.set(target, 1);
    metrics.rollouts.inc({ pipeline: 'web', outcome: 'rolled_back' }, 3);
    const text = await scrape.render();
    expect(text).toContain(
      'freshet_image_up_to_date{pipeline="web",stage="production",namespace="prod",deployment="web",container="app",image="web"} 0',
    );
    expect(text).toContain('freshet_rollouts_total{pipeline="web",outcome="rolled_back"} 3');
    await scrape.refresh();
    expect(await scrape.render()).toContain('image="web"} 1');
  });

  it('names only gauges the registry has', () => {
    const names = new Set(
      createMetrics()
        .registry.getMetricsAsArray()
        .map((m) => m.name),
    );
    for (const name of collectedGauges) expect(names, name).toContain(name);
  });
});
