/**
 * AWS AppConfigData through the real SDK client: one configuration session per profile
 * (StartConfigurationSession, then GetLatestConfiguration in a loop), waiting the
 * NextPollIntervalInSeconds the service asks for between calls. An empty body means "unchanged"
 * and hands nothing over. Each token is good for one call only, so after any failure (throttling,
 * 5xx, network) the session is started afresh after a jittered, doubling backoff; its first
 * answer is the whole configuration again, which the provider recognises as unchanged.
 */
import { AppConfigDataClient, GetLatestConfigurationCommand, StartConfigurationSessionCommand, type AppConfigDataClientConfig } from '@aws-sdk/client-appconfigdata';
import { backoffDelay, contentLabel, DEFAULT_BACKOFF, type Backoff, type DocumentSource, type ProfileName, type SourceSink } from './source.js';
import { sleep } from './sleep.js';

/** The configuration profile (name or id) serving each document; no `overrides` → no overrides document. */
export interface ProfileIdentifiers {
  readonly rules: string;
  readonly overrides?: string;
  readonly flags: string;
}

export interface AppConfigDataSourceOptions {
  readonly application: string;
  readonly environment: string;
  readonly profiles: ProfileIdentifiers;
  /** A client to use (its endpoint, region and credentials); by default one built from `clientConfig`. */
  readonly client?: AppConfigDataClient;
  readonly clientConfig?: AppConfigDataClientConfig;
  /** Sent as RequiredMinimumPollIntervalInSeconds (AWS accepts 15 and more). */
  readonly minimumPollIntervalSeconds?: number;
  /**
   * Multiplies the poll interval the service asks for (default 1). Only for rehearsals against
   * an endpoint that runs on a compressed time scale.
   */
  readonly pollIntervalScale?: number;
  readonly backoff?: Backoff;
}

const DEFAULT_POLL_SECONDS = 60;

export class AppConfigDataSource implements DocumentSource {
  readonly kind = 'appconfig' as const;
  private readonly client: AppConfigDataClient;
  private readonly ownsClient: boolean;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private readonly decoder = new TextDecoder();

  constructor(private readonly options: AppConfigDataSourceOptions) {
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? new AppConfigDataClient(options.clientConfig ?? {});
  }

  /** What errors and versions name a profile's document by. */
  private documentName(profile: string): string {
    return `appconfig:${this.options.application}/${this.options.environment}/${profile}`;
  }

  start(sink: SourceSink): void {
    const { profiles } = this.options;
    if (profiles.overrides === undefined) sink.documents([{ profile: 'overrides', text: null, file: this.documentName('(no overrides profile)'), label: 'none' }]);
    const wanted: [ProfileName, string][] = [['rules', profiles.rules], ['flags', profiles.flags]];
    if (profiles.overrides !== undefined) wanted.splice(1, 0, ['overrides', profiles.overrides]);
    this.loops = wanted.map(([profile, id]) => this.session(profile, id, sink));
  }

  private async session(profile: ProfileName, id: string, sink: SourceSink): Promise<void> {
    const { signal } = this.abort;
    const backoff = this.options.backoff ?? DEFAULT_BACKOFF;
    const scale = this.options.pollIntervalScale ?? 1;
    let token: string | undefined;
    let failures = 0;
    while (!signal.aborted) {
      let waitMs: number;
      try {
        if (token === undefined) {
          const started = await this.client.send(
            new StartConfigurationSessionCommand({
              ApplicationIdentifier: this.options.application,
              EnvironmentIdentifier: this.options.environment,
              ConfigurationProfileIdentifier: id,
              ...(this.options.minimumPollIntervalSeconds === undefined ? {} : { RequiredMinimumPollIntervalInSeconds: this.options.minimumPollIntervalSeconds }),
            }),
            { abortSignal: signal },
          );
          token = started.InitialConfigurationToken;
          if (token === undefined) throw new Error(`StartConfigurationSession for ${id} returned no token`);
        }
        const latest = await this.client.send(new GetLatestConfigurationCommand({ ConfigurationToken: token }), { abortSignal: signal });
        token = latest.NextPollConfigurationToken;
        failures = 0;
        waitMs = (latest.NextPollIntervalInSeconds ?? DEFAULT_POLL_SECONDS) * 1_000 * scale;
        // An empty body ("unchanged") may arrive as undefined, null or zero bytes.
        const body = latest.Configuration ?? undefined;
        if (body !== undefined && body.length > 0) {
          const text = this.decoder.decode(body);
          sink.documents([{ profile, text, file: this.documentName(id), label: latest.VersionLabel ?? contentLabel(text) }]);
          if (!isJson(text)) {
            // The provider refuses it. A torn transfer would otherwise stand until the next
            // deployment (the session holds this version: later polls say "unchanged"), so the
            // session starts afresh, after a backoff, and fetches the whole document again.
            token = undefined;
            waitMs = backoffDelay(backoff, failures++);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        token = undefined;
        sink.failure(new Error(`${this.documentName(id)}: ${describe(err)}`));
        waitMs = backoffDelay(backoff, failures++);
      }
      await sleep(waitMs, signal);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled(this.loops);
    if (this.ownsClient) this.client.destroy();
  }
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The error's name and message, and the HTTP status when the SDK knows it. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return `${err.name}${status === undefined ? '' : ` (HTTP ${status})`}: ${err.message}`;
}
