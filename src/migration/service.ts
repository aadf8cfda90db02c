/**
 * The application service around the decider: load the stream, fold, decide, append with the
 * version that was read. A command id seen before returns the original result and appends
 * nothing, so a retry after a crash or a lost reply never doubles an event.
 *
 * Imports the event-store port alone (port.ts, which imports nothing): the store is passed in,
 * and store errors are recognized by their classes, so this module stays free of I/O.
 */
import { ConcurrencyConflict, type EventStore, type Fence, type NewEvent, type StoredEvent } from '../eventstore/port.js';
import { decide, evolve, fold, initialState } from './decider.js';
import type { MigrationCommand, MigrationEvent, MigrationState, Rejection } from './model.js';
import { statusView, type MigrationStatusView } from './projections.js';
import { DEFAULT_MAX_ATTEMPTS, backoffDelay, sleepFor } from './retry.js';

export const MIGRATION_STREAM_PREFIX = 'migration-';

/** The event stream holding a migration. */
export function streamOf(migrationId: string): string {
  return `${MIGRATION_STREAM_PREFIX}${migrationId}`;
}

export interface CommandContext {
  readonly store: EventStore;
  /** Idempotency key: the same id twice yields the first result and no new event. */
  readonly commandId: string;
  /** Present when a controller appends under a lease. */
  readonly fence?: Fence;
  /** Wall clock for the stored `recordedAt` (the decision's own instant is in the command). */
  readonly clock: () => Date;
  /** Attempts (the first included) before a stream that keeps moving makes the command give up. Default 8. */
  readonly maxAttempts?: number;
  /** Delay before retry number `retry` (0-based) after a conflict; default exponential backoff with jitter. */
  readonly retryDelay?: (retry: number) => number;
  /** How to wait that delay; default a timer. Tests pass one that records and returns at once. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Called with the decided events just before they are appended: a fault-injection point for
   * game days and tests (a process killed here has decided but written nothing). Absent in normal use.
   */
  readonly beforeAppend?: (events: readonly MigrationEvent[]) => void | Promise<void>;
}

export type CommandOutcome =
  | {
      readonly outcome: 'accepted';
      /** The events this command produced (the stored ones, when replayed). */
      readonly events: readonly MigrationEvent[];
      /** Stream version after the command's last event. */
      readonly version: number;
      /** True when the command id had been handled before and nothing was appended now. */
      readonly replayed: boolean;
      readonly state: MigrationState;
    }
  | { readonly outcome: 'rejected'; readonly rejection: Rejection; readonly state: MigrationState };

export interface LoadedMigration {
  readonly stored: readonly StoredEvent[];
  readonly events: readonly MigrationEvent[];
  readonly state: MigrationState;
}

/** Reads a migration's stream and folds it. */
export async function loadMigration(store: EventStore, migrationId: string): Promise<LoadedMigration> {
  const stored = await store.read(streamOf(migrationId));
  const events = stored.map((e) => e.data as MigrationEvent);
  return { stored, events, state: fold(events) };
}

/** Folds a migration's stream as it is read, keeping no event: the state in little memory. */
export async function rebuildMigration(store: EventStore, migrationId: string): Promise<MigrationState> {
  let state = initialState;
  await store.forEach(streamOf(migrationId), (e) => {
    state = evolve(state, e.data as MigrationEvent);
  });
  return state;
}

/** The status of every migration in the store, in stream-name order (streams holding no plan are left out). */
export async function listMigrations(store: EventStore, now: string): Promise<MigrationStatusView[]> {
  const views: MigrationStatusView[] = [];
  for (const stream of await store.listStreams(MIGRATION_STREAM_PREFIX)) {
    const view = statusView(await rebuildMigration(store, stream.slice(MIGRATION_STREAM_PREFIX.length)), now);
    if (view !== undefined) views.push(view);
  }
  return views;
}

/** Thrown when conflicts keep winning (a stream under heavy contention). */
export class TooManyConflicts extends Error {
  override readonly name = 'TooManyConflicts';
}

export async function handleCommand(migrationId: string, command: MigrationCommand, ctx: CommandContext): Promise<CommandOutcome> {
  const stream = streamOf(migrationId);
  const attempts = ctx.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const retryDelay = ctx.retryDelay ?? ((retry: number) => backoffDelay(retry));
  const sleep = ctx.sleep ?? sleepFor;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (attempt > 0) await sleep(retryDelay(attempt - 1));
    // Fold as we read, keeping only this command's own events (if it was handled before).
    let state = initialState;
    let head = 0;
    let replayedState: MigrationState | undefined;
    const previous: MigrationEvent[] = [];
    let lastPrevious = 0;
    await ctx.store.forEach(stream, (e) => {
      state = evolve(state, e.data as MigrationEvent);
      head = e.version;
      if (e.meta.commandId === ctx.commandId) {
        previous.push(e.data as MigrationEvent);
        lastPrevious = e.version;
        replayedState = state;
      }
    });
    if (replayedState !== undefined) {
      return { outcome: 'accepted', events: previous, version: lastPrevious, replayed: true, state: replayedState };
    }
    const decision = decide(command, state);
    if (!decision.ok) return { outcome: 'rejected', rejection: decision.rejection, state };
    const recordedAt = ctx.clock().toISOString();
    const meta = { commandId: ctx.commandId, recordedAt, ...(ctx.fence !== undefined ? { fencingToken: ctx.fence.token } : {}) };
    const toAppend: NewEvent<MigrationEvent>[] = decision.events.map((e) => ({ type: e.type, data: e, meta }));
    if (ctx.beforeAppend !== undefined) await ctx.beforeAppend(decision.events);
    try {
      const result = await ctx.store.append(stream, head, toAppend, ctx.fence !== undefined ? { fence: ctx.fence } : {});
      return { outcome: 'accepted', events: decision.events, version: result.toVersion, replayed: false, state: fold(decision.events, state) };
    } catch (err) {
      // Someone appended between our read and our write: read again and decide afresh.
      if (err instanceof ConcurrencyConflict) continue;
      throw err;
    }
  }
  throw new TooManyConflicts(`stream ${stream} kept moving: gave up after ${attempts} attempts`);
}
