/**
 * A controller drives one migration: it holds the migration's lease, and while it holds it,
 * advances the migration whenever the decider allows (bake time passed, passing gate attached).
 * Every append carries the lease's fencing token, so a controller that stalls and wakes up after
 * another took over cannot write. When the leader dies, the lease expires and a waiting
 * controller takes it (within one TTL plus one tick) and continues from the stream.
 *
 * The store, lease manager, clock, sleep and id source are passed in.
 */
import { FencedAppend, type EventStore, type Lease, type LeaseManager } from '../eventstore/port.js';
import type { MigrationEvent, Rejection } from './model.js';
import { handleCommand } from './service.js';

export type ControllerReport =
  | { readonly kind: 'waiting'; readonly holder: string; readonly expiresAt: number }
  | { readonly kind: 'acquired'; readonly token: number }
  | { readonly kind: 'lost'; readonly token: number }
  | { readonly kind: 'appended'; readonly token: number; readonly version: number; readonly events: readonly MigrationEvent['type'][] }
  | { readonly kind: 'blocked'; readonly rejection: Rejection }
  | { readonly kind: 'fenced'; readonly token: number }
  | { readonly kind: 'finished'; readonly status: string }
  /** A store or network failure; the controller keeps going and retries next tick. */
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'stopped' };

export interface ControllerDeps {
  readonly store: EventStore;
  readonly leases: LeaseManager;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly newId: () => string;
  readonly report: (r: ControllerReport) => void;
}

export interface ControllerOptions {
  readonly migrationId: string;
  /** Who this controller is (host/pid), recorded as the actor of its events. */
  readonly owner: string;
  readonly leaseTtlMs: number;
  /** How often to renew the lease and retry advancing. Well under the TTL. */
  readonly tickMs: number;
  readonly signal?: AbortSignal;
}

/** Runs until the migration is completed or aborted, or the signal aborts. Releases the lease on the way out. */
export async function runController(options: ControllerOptions, deps: ControllerDeps): Promise<'finished' | 'stopped'> {
  const leaseName = `migration-${options.migrationId}`;
  let lease: Lease | undefined;
  let lastBlocked = '';
  try {
    while (options.signal?.aborted !== true) {
      try {
        const step = await tick();
        if (step === 'finished') return 'finished';
        if (step === 'again') continue;
      } catch (err) {
        // A store that is briefly unreachable must not kill the controller: report and retry.
        // Holding on to the lease is safe: the next renew or fenced append tells whether it is still ours.
        deps.report({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
      }
      await deps.sleep(options.tickMs);
    }
    deps.report({ kind: 'stopped' });
    return 'stopped';
  } finally {
    if (lease !== undefined) await deps.leases.release(lease).catch(() => undefined);
  }

  /** One round: hold the lease, then try to advance. `again` skips the pause before the next round. */
  async function tick(): Promise<'finished' | 'again' | 'wait'> {
    const now = deps.clock().getTime();
    if (lease === undefined) {
      const got = await deps.leases.acquire(leaseName, options.owner, options.leaseTtlMs, now);
      if (!got.acquired) {
        deps.report({ kind: 'waiting', holder: got.holder, expiresAt: got.expiresAt });
        return 'wait';
      }
      lease = got.lease;
      lastBlocked = '';
      deps.report({ kind: 'acquired', token: lease.token });
    } else {
      const renewed = await deps.leases.renew(lease, options.leaseTtlMs, now);
      if (renewed === undefined) {
        deps.report({ kind: 'lost', token: lease.token });
        lease = undefined;
        return 'again';
      }
      lease = renewed;
    }

    try {
      const result = await handleCommand(
        options.migrationId,
        { type: 'advance', actor: options.owner, at: deps.clock().toISOString() },
        { store: deps.store, commandId: deps.newId(), clock: deps.clock, fence: { lease: leaseName, token: lease.token } },
      );
      if (result.outcome === 'accepted') {
        deps.report({ kind: 'appended', token: lease.token, version: result.version, events: result.events.map((e) => e.type) });
        lastBlocked = '';
        if (result.state.status === 'completed' || result.state.status === 'aborted') {
          deps.report({ kind: 'finished', status: result.state.status });
          return 'finished';
        }
        return 'again'; // more may be possible right away (complete a step, then start the next)
      }
      if (result.rejection.invariant === 'finished-is-final') {
        deps.report({ kind: 'finished', status: result.state.status });
        return 'finished';
      }
      if (result.rejection.message !== lastBlocked) {
        lastBlocked = result.rejection.message;
        deps.report({ kind: 'blocked', rejection: result.rejection });
      }
    } catch (err) {
      if (!(err instanceof FencedAppend)) throw err;
      deps.report({ kind: 'fenced', token: lease.token });
      lease = undefined;
    }
    return 'wait';
  }
}
