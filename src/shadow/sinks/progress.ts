/**
 * Replay progress on stderr: a bar with rate and ETA on a terminal, a plain line every few
 * seconds otherwise (CI logs), nothing at all when quiet.
 */
import cliProgress from 'cli-progress';
import type { SourceProgress } from '../sources/file.js';

export interface ProgressReporter {
  /** Records read so far and, when the source knows it, how far through its input it is. */
  update(records: number, position?: SourceProgress): void;
  stop(): void;
}

export interface ProgressOptions {
  readonly stream: NodeJS.WriteStream;
  readonly quiet: boolean;
  readonly label: string;
  /** Plain mode: at most one line per this many ms. */
  readonly intervalMs?: number;
  readonly now?: () => number;
}

const silent: ProgressReporter = { update: () => undefined, stop: () => undefined };

function formatUnits(n: number, unit: string): string {
  if (unit !== 'bytes') return `${Math.round(n).toLocaleString('en-US')} ${unit}`;
  if (n >= 1024 * 1024 * 1024) return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(1)} KiB`;
}

export function createProgress(options: ProgressOptions): ProgressReporter {
  if (options.quiet) return silent;
  const now = options.now ?? Date.now;
  const started = now();
  if (options.stream.isTTY === true) {
    const bar = new cliProgress.SingleBar(
      {
        stream: options.stream,
        format: `${options.label} [{bar}] {percentage}% | {records} records | {rate} rec/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let begun = false;
    return {
      update(records, position) {
        const total = position?.total ?? 0;
        const elapsed = Math.max(1, now() - started) / 1000;
        const payload = { records: records.toLocaleString('en-US'), rate: Math.round(records / elapsed).toLocaleString('en-US') };
        if (!begun) {
          bar.start(Math.max(total, 1), 0, payload);
          begun = true;
        }
        if (total > 0) bar.setTotal(total);
        bar.update(position?.done ?? 0, payload);
      },
      stop() {
        if (begun) bar.stop();
      },
    };
  }
  const interval = options.intervalMs ?? 5000;
  let lastLine = started;
  return {
    update(records, position) {
      const t = now();
      if (t - lastLine < interval) return;
      lastLine = t;
      const elapsed = Math.max(1, t - started) / 1000;
      const rate = records / elapsed;
      let where = '';
      if (position !== undefined && position.total !== undefined && position.total > 0) {
        const fraction = Math.min(1, position.done / position.total);
        const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : 0;
        where = `, ${(fraction * 100).toFixed(1)}% of ${formatUnits(position.total, position.unit)}, ETA ${Math.ceil(eta)}s`;
      }
      options.stream.write(`${options.label}: ${records.toLocaleString('en-US')} records (${Math.round(rate).toLocaleString('en-US')}/s)${where}\n`);
    },
    stop() {
      // Plain mode prints the final figures through the command's own summary.
    },
  };
}
