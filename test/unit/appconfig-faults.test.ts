import { describe, expect, it } from 'vitest';
import { FaultTable, parseFaultSpec } from '../../src/appconfig/local/index.js';

describe('fault specs', () => {
  it('accepts each kind with its parameters', () => {
    expect(parseFaultSpec({ target: 'GetLatestConfiguration', kind: 'throttle', count: 2 })).toEqual({ target: 'GetLatestConfiguration', kind: 'throttle', count: 2 });
    expect(parseFaultSpec({ target: 'control', kind: 'error', status: 503 })).toEqual({ target: 'control', kind: 'error', status: 503 });
    expect(parseFaultSpec({ target: '*', kind: 'latency', latencyMs: 250 })).toEqual({ target: '*', kind: 'latency', latencyMs: 250 });
  });

  it('refuses what it cannot do, in one sentence', () => {
    expect(parseFaultSpec({ kind: 'throttle' })).toMatch(/target/);
    expect(parseFaultSpec({ target: 'data', kind: 'explode' })).toMatch(/kind must be one of throttle, error, latency, corrupt/);
    expect(parseFaultSpec({ target: 'data', kind: 'error', status: 404 })).toMatch(/500-599/);
    expect(parseFaultSpec({ target: 'data', kind: 'latency' })).toMatch(/latencyMs/);
    expect(parseFaultSpec({ target: 'data', kind: 'throttle', count: 0 })).toMatch(/count/);
  });
});

describe('FaultTable', () => {
  it('hits by operation, plane or *, spends counts, and keeps unbounded faults until cleared', () => {
    const table = new FaultTable();
    const once = table.add({ target: 'StartDeployment', kind: 'throttle', count: 1 });
    const data = table.add({ target: 'data', kind: 'latency', latencyMs: 10 });
    expect(table.take('GetApplication', 'control')).toEqual([]);
    expect(table.take('StartDeployment', 'control').map((f) => f.id)).toEqual([once.id]);
    expect(table.take('StartDeployment', 'control')).toEqual([]);
    expect(table.take('GetLatestConfiguration', 'data').map((f) => f.id)).toEqual([data.id]);
    expect(table.take('StartConfigurationSession', 'data').map((f) => f.hits)).toEqual([2]);
    const all = table.add({ target: '*', kind: 'error', count: 2 });
    expect(table.take('ListApplications', 'control').map((f) => f.id)).toEqual([all.id]);
    expect(table.list().map((f) => [f.id, f.remaining])).toEqual([
      [data.id, undefined],
      [all.id, 1],
    ]);
    expect(table.clear(data.id)).toBe(1);
    expect(table.clear()).toBe(1);
    expect(table.list()).toEqual([]);
  });
});
