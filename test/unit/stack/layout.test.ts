import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ports, readVersions } from '../../../stack/layout.ts';

describe('stack layout', () => {
  const outer = process.env.FRESHET_STACK_PORT_OFFSET;
  beforeEach(() => {
    delete process.env.FRESHET_STACK_PORT_OFFSET;
  });
  afterEach(() => {
    if (outer === undefined) delete process.env.FRESHET_STACK_PORT_OFFSET;
    else process.env.FRESHET_STACK_PORT_OFFSET = outer;
  });

  it('shifts every port by FRESHET_STACK_PORT_OFFSET', () => {
    const base = ports();
    process.env.FRESHET_STACK_PORT_OFFSET = '1000';
    const shifted = ports();
    for (const key of Object.keys(base) as (keyof typeof base)[]) expect(shifted[key]).toBe(base[key] + 1000);
    expect(new Set(Object.values(base)).size).toBe(Object.values(base).length);
  });

  it('rejects an offset that is not a whole number in range', () => {
    process.env.FRESHET_STACK_PORT_OFFSET = '12abc';
    expect(() => ports()).toThrow(/FRESHET_STACK_PORT_OFFSET must be a whole number/);
    process.env.FRESHET_STACK_PORT_OFFSET = '50000';
    expect(() => ports()).toThrow(/from 0 to 40000/);
  });

  it('reads the pinned versions the install scripts use', () => {
    const v = readVersions();
    expect(v.kubernetes).toMatch(/^1\.34\.\d+$/);
    expect(v.temporalCli).toBe('1.5.1');
    expect(v.node).toMatch(/^24\./);
    expect(v.moto).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
