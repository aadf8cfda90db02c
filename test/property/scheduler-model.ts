/**
 * A deliberately simple reference model of the dispatch core, for the model-based property
 * tests: every request lives in one array and every decision is a scan over it. It implements
 * the same specification as src/scheduler/core (docs/scheduler.md) without any of its data
 * structures, so a disagreement points at a bug in one of them.
 */
import type { SchedulerConfig, SchedulerEventKind, TicketState } from '../../src/scheduler/core/index.js';

export interface ModelRequest {
  readonly id: number;
  readonly variant: number;
  readonly tier: number;
  readonly account: string;
  readonly preemptable: boolean;
  readonly deadline: number;
  readonly seq: number;
  state: TicketState;
  dispatchOrder: number;
  reservedDispatch: boolean;
}

export type ModelEvent = readonly [kind: SchedulerEventKind, id: number, variant: number];

export class ReferenceModel {
  readonly requests: ModelRequest[] = [];
  readonly events: ModelEvent[] = [];
  private readonly passes: number[][];
  private readonly vtime: number[];
  /** Per variant and tier: the flow keys with waiting requests, the one served next first. */
  private readonly turns: string[][][];
  private readonly buckets = new Map<string, { tokens: number; last: number }>();
  private readonly strides: number[];
  private dispatches = 0;

  constructor(readonly config: SchedulerConfig) {
    const weights = config.tierWeights;
    let lcm = 1;
    for (const w of weights) lcm = (lcm * w) / gcd(lcm, w);
    this.strides = weights.map((w) => lcm / w);
    this.passes = config.variants.map(() => weights.map(() => 0));
    this.vtime = config.variants.map(() => 0);
    this.turns = config.variants.map(() => weights.map(() => []));
  }

  submit(id: number, variant: number, tier: number, account: string, preemptable: boolean, deadline: number, now: number): void {
    // Not waiting until admitted: the placeholder state keeps it out of queued() meanwhile.
    const r: ModelRequest = { id, variant, tier, account, preemptable, deadline, seq: this.requests.length, state: 'shed', dispatchOrder: -1, reservedDispatch: false };
    this.requests.push(r);
    const rate = this.config.accountRates?.[account] ?? this.config.defaultAccountRate;
    if (rate !== undefined) {
      let b = this.buckets.get(account);
      if (b === undefined) this.buckets.set(account, (b = { tokens: rate.burst, last: now }));
      if (now > b.last) {
        b.tokens = Math.min(rate.burst, b.tokens + ((now - b.last) * rate.rate) / 1000);
        b.last = now;
      }
      if (b.tokens >= 1) b.tokens -= 1;
      else return this.end(r, 'throttled');
    }
    if (deadline <= now) return this.end(r, 'expired');
    const limits = this.config.variants[variant]!;
    if (this.queued(variant).length >= limits.queueBound) {
      this.expire(variant, now);
      if (this.queued(variant).length >= limits.queueBound) {
        const lower = this.queued(variant).filter((q) => q.tier > tier);
        if (lower.length === 0) return this.end(r, 'shed');
        const lowestTier = Math.max(...lower.map((q) => q.tier));
        const victim = lower.filter((q) => q.tier === lowestTier).reduce((a, b) => (b.seq > a.seq ? b : a));
        this.leaveQueue(victim);
        this.end(victim, 'shed');
      }
    }
    if (this.queued(variant, tier).length === 0) this.passes[variant]![tier] = Math.max(this.passes[variant]![tier]!, this.vtime[variant]!);
    const turns = this.turns[variant]![tier]!;
    if (!turns.includes(this.flowKey(r))) turns.push(this.flowKey(r));
    r.state = 'queued';
    this.events.push(['queued', r.id, variant]);
  }

  pump(now: number): void {
    this.config.variants.forEach((_, v) => this.expire(v, now));
    this.config.variants.forEach((_, v) => this.settle(v, now));
  }

  complete(id: number): void {
    const r = this.requests[id]!;
    if (r.state === 'running') this.end(r, 'completed');
  }

  cancel(id: number): void {
    const r = this.requests[id]!;
    if (r.state === 'queued') this.leaveQueue(r);
    if (r.state === 'queued' || r.state === 'running') this.end(r, 'cancelled');
  }

  queued(variant: number, tier?: number): ModelRequest[] {
    return this.requests.filter((r) => r.state === 'queued' && r.variant === variant && (tier === undefined || r.tier === tier));
  }

  running(variant: number): ModelRequest[] {
    return this.requests.filter((r) => r.state === 'running' && r.variant === variant);
  }

  /** Owners with a waiting request and fewer running than their reserved units. */
  owed(variant: number): { account: string; oldest: ModelRequest }[] {
    const reserved = this.config.variants[variant]!.reserved ?? {};
    return Object.entries(reserved)
      .filter(([account, units]) => units > 0 && this.running(variant).filter((r) => r.account === account).length < units)
      .map(([account]) => ({ account, waiting: this.queued(variant).filter((r) => r.account === account) }))
      .filter((o) => o.waiting.length > 0)
      .map((o) => ({ account: o.account, oldest: o.waiting[0]! }));
  }

  private settle(v: number, _now: number): void {
    const limits = this.config.variants[v]!;
    for (;;) {
      const owed = this.owed(v).sort((a, b) => a.oldest.seq - b.oldest.seq)[0];
      if (this.running(v).length < limits.concurrency) {
        if (owed !== undefined) this.start(owed.oldest, true);
        else if (this.queued(v).length > 0) this.start(this.nextWeighted(v), false);
        else return;
      } else if (owed !== undefined && limits.qosPreemption) {
        const units = (account: string) => limits.reserved?.[account] ?? 0;
        const borrowers = this.running(v).filter((r) => r.preemptable && this.running(v).filter((o) => o.account === r.account).length > units(r.account));
        if (borrowers.length === 0) return;
        const victim = borrowers.reduce((a, b) => (b.tier > a.tier || (b.tier === a.tier && b.dispatchOrder > a.dispatchOrder) ? b : a));
        this.end(victim, 'preempted');
      } else {
        return;
      }
    }
  }

  private nextWeighted(v: number): ModelRequest {
    const passes = this.passes[v]!;
    let tier = -1;
    for (let t = 0; t < passes.length; t++) {
      if (this.queued(v, t).length > 0 && (tier < 0 || passes[t]! < passes[tier]!)) tier = t;
    }
    this.vtime[v] = passes[tier]!;
    passes[tier] = passes[tier]! + this.strides[tier]!;
    const turns = this.turns[v]![tier]!;
    const key = turns.shift()!;
    turns.push(key);
    return this.queued(v, tier).find((r) => this.flowKey(r) === key)!;
  }

  private start(r: ModelRequest, reserved: boolean): void {
    this.leaveQueue(r);
    r.state = 'running';
    r.reservedDispatch = reserved;
    r.dispatchOrder = this.dispatches++;
    this.events.push(['dispatched', r.id, r.variant]);
  }

  private expire(v: number, now: number): void {
    const due = this.queued(v)
      .filter((r) => r.deadline <= now)
      .sort((a, b) => a.deadline - b.deadline || a.seq - b.seq);
    for (const r of due) {
      this.leaveQueue(r);
      this.end(r, 'expired');
    }
  }

  /** Takes a request out of the waiting set; its flow loses its turn when it has nothing left. */
  private leaveQueue(r: ModelRequest): void {
    r.state = 'running'; // provisional: excluded from queued() while the turn list is updated
    const key = this.flowKey(r);
    if (!this.queued(r.variant, r.tier).some((q) => this.flowKey(q) === key)) {
      const turns = this.turns[r.variant]![r.tier]!;
      turns.splice(turns.indexOf(key), 1);
    }
  }

  private end(r: ModelRequest, state: Exclude<TicketState, 'queued' | 'running'>): void {
    r.state = state;
    this.events.push([state, r.id, r.variant]);
  }

  private flowKey(r: ModelRequest): string {
    return this.config.fairQueuingByAccount ? r.account : '';
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
