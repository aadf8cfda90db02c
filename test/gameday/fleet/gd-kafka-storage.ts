/**
 * The Kafka and storage scenarios' shared setup: a `prio serve` in decision mode, in this
 * process, writing its request log through the same `fileRequestLog` / `kafkaRequestLog` the CLI
 * builds from `--request-log` / `--request-log-kafka` (counts into /metrics, errors to a log the
 * scenario reads), on the baked rules (these scenarios fault the log, not the configuration).
 */
import { startService, type RequestLog, type RequestLogEvents } from '../../../src/service/index.js';
import { LEGACY_FLAGS, TestProvider, domain, keyring, silent, snapshot } from '../../support/serve.js';
import type { ScenarioContext } from '../scenario.js';

export interface LoggingInstance {
  readonly url: string;
  /** The request log's error lines, with when (what `prio serve` logs at level error). */
  readonly errors: { at: number; message: string }[];
}

/**
 * Starts the instance with the request log `make` builds from the events it is given (wire
 * them into the log's options: records are counted on /metrics as `prio serve` counts them).
 */
export async function startLoggingInstance(ctx: ScenarioContext, make: (events: Required<RequestLogEvents>) => RequestLog): Promise<LoggingInstance> {
  const errors: { at: number; message: string }[] = [];
  const counter: { into?: (event: 'written' | 'dropped', count: number) => void } = {};
  const requestLog = make({
    onCount: (event, count) => counter.into?.(event, count),
    onError: (message) => {
      errors.push({ at: Date.now(), message });
      ctx.log(`request log error: ${message}`);
    },
  });
  const service = await startService({
    provider: new TestProvider(snapshot(LEGACY_FLAGS)),
    domain,
    capacity: { variants: {}, defaultVariant: { concurrency: 64, queueBound: 4_096 } },
    keyring,
    requestLog,
    logger: silent,
    processMetrics: false,
  });
  counter.into = (event, count) => service.metrics.requestLog(event, count);
  ctx.defer(async () => {
    await service.close(1_000);
  });
  return { url: service.url, errors };
}

/** `prio_request_log_records_total` by result, as /metrics shows it. */
export async function requestLogCounts(url: string): Promise<{ written: number; dropped: number }> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const value = (result: string) => Number(new RegExp(`prio_request_log_records_total\\{result="${result}"\\}\\s+(\\S+)`).exec(text)?.[1] ?? 0);
  return { written: value('written'), dropped: value('dropped') };
}
