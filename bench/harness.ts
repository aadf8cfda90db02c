/** The shape every benchmark suite returns; `npm run bench -- <suite> --json` prints it as JSON (bench/run.ts). */
export interface BenchResult {
  /** `prio` for ours; the peer's package name (or `ceiling:<what>`) for the reference. */
  readonly name: string;
  readonly opsPerSec: number;
  readonly [extra: string]: unknown;
}

export interface BenchReport {
  readonly suite: string;
  readonly results: readonly BenchResult[];
  /** The speed targets the suite is held to, each with the measured figure and whether it was met. */
  readonly targets?: readonly { readonly target: string; readonly measured: string; readonly met: boolean }[];
  readonly [extra: string]: unknown;
}

export interface BenchOptions {
  /** Extra arguments after the suite name (suite-specific, e.g. `--records 1000000`). */
  readonly args: readonly string[];
  /** Human progress goes here (stderr), never to stdout, so `--json` stays parseable. */
  log(message: string): void;
}

export type BenchSuite = (options: BenchOptions) => Promise<BenchReport>;
