import { describe, expect, it } from 'vitest';
import { parseCapacity, schedulerConfigFor } from '../../src/scheduler/index.js';
import { ConfigError } from '../../src/validation/index.js';

// The capacity file's edges; the fixtures' round trip through the simulator lives in
// scheduler-simulator.test.ts.
describe('capacity file edges', () => {
  it('rejects a document that is not an object with a ConfigError naming the file, not a TypeError', () => {
    expect(() => parseCapacity(null, 'c.json')).toThrow(ConfigError);
    expect(() => parseCapacity(null, 'c.json')).toThrow('c.json');
  });

  it('accepts reserved units that add up to exactly the concurrency', () => {
    const doc = { variants: { m: { concurrency: 2, queueBound: 1, reserved: { x: 1, y: 1 } } } };
    expect(parseCapacity(doc, 'c.json')).toBe(doc);
  });

  it('fills the optional fields with their defaults and adds no default bucket when none is configured', () => {
    const config = schedulerConfigFor({ variants: { m: { concurrency: 1, queueBound: 1 } } }, [1], ['m']);
    expect(config).toStrictEqual({
      tierWeights: [1],
      variants: [{ id: 'm', concurrency: 1, queueBound: 1, qosPreemption: false, reserved: {} }],
      accountRates: {},
      fairQueuingByAccount: false,
    });
  });
});
