/**
 * The one async hand-off between a push-style producer (stream events, a client's callback)
 * and a pull-style consumer (an async generator): items are taken in order; a failure is
 * reported only after every item handed over before it (so how much of a damaged input reaches
 * the consumer never depends on how fast it reads); an abort is reported at once.
 *
 * The producer paces itself either by `size` (pause a stream above a mark) or by
 * `pushAndWait`, whose promise settles only once the consumer has taken the item (so a client
 * fetches no further ahead than the consumer reads). No I/O: plain promises.
 */

export class HandOff<T> {
  private readonly items: { readonly item: T; readonly taken: (() => void) | undefined }[] = [];
  private waiter: (() => void) | undefined;
  private failure: { readonly error: unknown } | undefined;
  private abortion: { readonly error: unknown } | undefined;
  private ended = false;

  /** Items handed over and not yet taken. */
  get size(): number {
    return this.items.length;
  }

  /** True once the producer called `fail`. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  push(item: T): void {
    this.items.push({ item, taken: undefined });
    this.wake();
  }

  /** Hands `item` over; resolves once the consumer takes it (or the hand-off is disposed). */
  pushAndWait(item: T): Promise<void> {
    if (this.ended || this.failure !== undefined || this.abortion !== undefined) return Promise.resolve();
    return new Promise((taken) => {
      this.items.push({ item, taken });
      this.wake();
    });
  }

  /** No more items: the consumer ends once it has taken those handed over. */
  end(): void {
    this.ended = true;
    this.wake();
  }

  /** The producer failed: `next` throws `error` once the items handed over before are taken. The first failure wins. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake();
  }

  /** Stops the consumer at once: its next `next` throws `error`, whatever is still queued. */
  abort(error: unknown): void {
    this.abortion ??= { error };
    this.wake();
  }

  /** Ends the hand-off for good, releasing every producer waiting in `pushAndWait`. */
  dispose(): void {
    this.ended = true;
    for (const pending of this.items.splice(0)) pending.taken?.();
    this.wake();
  }

  /** The next item, or done once ended and drained; throws the failure after the items before it, an abort at once. */
  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.abortion !== undefined) throw this.abortion.error;
      const head = this.items.shift();
      if (head !== undefined) {
        head.taken?.();
        return { done: false, value: head.item };
      }
      if (this.failure !== undefined) throw this.failure.error;
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
