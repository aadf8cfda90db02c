/** A real service started for the integration tests (see global-setup.ts). */
export interface RunningService {
  /** What the tests read from the environment variable, e.g. `127.0.0.1:39092`. */
  readonly address: string;
  stop(): Promise<void>;
}

export interface TestService {
  readonly name: string;
  /** Set by the user to reuse an existing service instead of starting one. */
  readonly envVar: string;
  start(): Promise<RunningService>;
}
