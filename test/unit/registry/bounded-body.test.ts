import { describe, expect, it } from 'vitest';
import { readAtMost } from '../../../activities/registry/bounded-body.ts';

/** A body that arrives in chunks and says nothing of its length, as a chunked answer does. */
function chunked(chunks: number[]) {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = chunks[pulled++];
      if (size === undefined) controller.close();
      else controller.enqueue(new Uint8Array(size).fill(1));
    },
  });
  return { response: new Response(stream), pulled: () => pulled };
}

describe('bounded reads of registry answers', () => {
  it('reads a body up to the limit', async () => {
    const body = await readAtMost(chunked([3, 4]).response, 7);
    expect(body?.byteLength).toBe(7);
  });

  it('refuses a declared Content-Length above the limit without reading', async () => {
    const res = new Response('x'.repeat(20), { headers: { 'content-length': '20' } });
    expect(await readAtMost(res, 10)).toBeUndefined();
  });

  it('stops reading a body that grows past the limit', async () => {
    const { response, pulled } = chunked([4, 4, 4, 4, 4, 4]);
    expect(await readAtMost(response, 10)).toBeUndefined();
    expect(pulled()).toBeLessThan(6);
  });
});
