/**
 * Injected faults: what a real AppConfig does on a bad day (throttling, 5xx, slow answers, a
 * mangled body), on demand, per operation or per plane, a given number of times or until cleared.
 */
import type { Plane } from './protocol.js';

export type FaultKind = 'throttle' | 'error' | 'latency' | 'corrupt';
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'error', 'latency', 'corrupt'];

export interface FaultSpec {
  /** An operation name (`GetLatestConfiguration`, `StartDeployment` …), a plane (`data`, `control`) or `*`. */
  readonly target: string;
  readonly kind: FaultKind;
  /** HTTP status of an `error` fault: 500 (default) to 599. */
  readonly status?: number;
  /** Added delay of a `latency` fault, ms. */
  readonly latencyMs?: number;
  /** How many requests the fault hits; absent = every request until cleared. */
  readonly count?: number;
}

export interface Fault extends FaultSpec {
  readonly id: number;
  /** Requests still to hit; undefined = until cleared. */
  remaining?: number;
  /** Requests hit so far. */
  hits: number;
}

/** Checks an admin request's fault spec; returns a one-line problem or the spec. */
export function parseFaultSpec(input: Record<string, unknown>): FaultSpec | string {
  const { target, kind, status, latencyMs, count } = input;
  if (typeof target !== 'string' || target === '') return 'target must name an operation, "data", "control" or "*"';
  if (typeof kind !== 'string' || !FAULT_KINDS.includes(kind as FaultKind)) return `kind must be one of ${FAULT_KINDS.join(', ')}`;
  if (status !== undefined && (typeof status !== 'number' || !Number.isInteger(status) || status < 500 || status > 599)) return 'status must be an integer 500-599';
  if (kind === 'latency' && (typeof latencyMs !== 'number' || !(latencyMs >= 0) || latencyMs > 120_000)) return 'a latency fault needs latencyMs between 0 and 120000';
  if (count !== undefined && (typeof count !== 'number' || !Number.isInteger(count) || count < 1)) return 'count must be a positive integer';
  return {
    target,
    kind: kind as FaultKind,
    ...(typeof status === 'number' ? { status } : {}),
    ...(typeof latencyMs === 'number' ? { latencyMs } : {}),
    ...(typeof count === 'number' ? { count } : {}),
  };
}

export class FaultTable {
  private faults: Fault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: this.nextId++, hits: 0, ...(spec.count !== undefined ? { remaining: spec.count } : {}) };
    this.faults.push(fault);
    return fault;
  }

  list(): readonly Fault[] {
    return this.faults;
  }

  /** Clears one fault by id, or all; returns how many were removed. */
  clear(id?: number): number {
    const before = this.faults.length;
    this.faults = id === undefined ? [] : this.faults.filter((f) => f.id !== id);
    return before - this.faults.length;
  }

  /** The faults that hit this request (each spends one of its count). */
  take(operation: string, plane: Plane): Fault[] {
    if (this.faults.length === 0) return [];
    const hit: Fault[] = [];
    for (const f of this.faults) {
      if (f.target !== '*' && f.target !== plane && f.target !== operation) continue;
      f.hits++;
      if (f.remaining !== undefined) f.remaining--;
      hit.push(f);
    }
    this.faults = this.faults.filter((f) => f.remaining === undefined || f.remaining > 0);
    return hit;
  }
}

/** A body mangled the way a broken proxy or a torn transfer would: cut short, then garbage. */
export function corrupt(body: Buffer): Buffer {
  return Buffer.concat([body.subarray(0, Math.floor(body.length / 2)), Buffer.from([0x00, 0xff, 0xfe]), Buffer.from('<corrupt>')]);
}
