/**
 * The AppConfig Agent's local HTTP endpoint (a sidecar that polls AppConfigData itself and
 * caches): `GET {baseUrl}/applications/{app}/environments/{env}/configurations/{profile}` returns
 * the deployed document, its version in the Configuration-Version header. Polled on an interval;
 * a document is handed over only when its text changed. Failures (agent not up yet, 5xx) are
 * retried after a jittered, doubling backoff.
 */
import type { ProfileIdentifiers } from './appconfigdata-source.js';
import { sleep } from './sleep.js';
import { backoffDelay, contentLabel, DEFAULT_BACKOFF, type Backoff, type DocumentSource, type ProfileName, type RawDocument, type SourceSink } from './source.js';

export interface AgentSourceOptions {
  /** Default http://localhost:2772, the agent's default port. */
  readonly baseUrl?: string;
  readonly application: string;
  readonly environment: string;
  readonly profiles: ProfileIdentifiers;
  /** How often the agent is asked, in ms (default 5000; it answers from its cache). */
  readonly pollIntervalMs?: number;
  /** Per request, in ms (default 2000). */
  readonly timeoutMs?: number;
  readonly backoff?: Backoff;
}

export const DEFAULT_AGENT_URL = 'http://localhost:2772';

export class AgentSource implements DocumentSource {
  readonly kind = 'agent' as const;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly delivered = new Map<ProfileName, string>();

  constructor(private readonly options: AgentSourceOptions) {}

  private url(profile: string): string {
    const { application, environment } = this.options;
    const base = (this.options.baseUrl ?? DEFAULT_AGENT_URL).replace(/\/+$/, '');
    return `${base}/applications/${encodeURIComponent(application)}/environments/${encodeURIComponent(environment)}/configurations/${encodeURIComponent(profile)}`;
  }

  start(sink: SourceSink): void {
    const { profiles } = this.options;
    if (profiles.overrides === undefined) sink.documents([{ profile: 'overrides', text: null, file: `${this.url('(no overrides profile)')}`, label: 'none' }]);
    this.loop = this.poll(sink);
  }

  private async fetchOne(profile: ProfileName, id: string): Promise<RawDocument> {
    const url = this.url(id);
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs ?? 2_000)]);
    const response = await fetch(url, { signal });
    const text = await response.text();
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}${text === '' ? '' : ` ${text.slice(0, 200)}`}`);
    return { profile, text, file: url, label: response.headers.get('configuration-version') ?? contentLabel(text) };
  }

  private async poll(sink: SourceSink): Promise<void> {
    const { signal } = this.abort;
    const { profiles } = this.options;
    const wanted: [ProfileName, string][] = [['rules', profiles.rules], ['flags', profiles.flags]];
    if (profiles.overrides !== undefined) wanted.push(['overrides', profiles.overrides]);
    let failures = 0;
    while (!signal.aborted) {
      const results = await Promise.allSettled(wanted.map(([profile, id]) => this.fetchOne(profile, id)));
      if (signal.aborted) return;
      const changed: RawDocument[] = [];
      let failed: Error | undefined;
      for (const r of results) {
        if (r.status === 'rejected') {
          const e: unknown = r.reason;
          failed ??= e instanceof Error ? new Error(e.cause instanceof Error ? `${e.message}: ${e.cause.message}` : e.message) : new Error(String(e));
        } else if (this.delivered.get(r.value.profile) !== r.value.text) {
          changed.push(r.value);
        }
      }
      if (changed.length > 0) {
        for (const d of changed) this.delivered.set(d.profile, d.text as string);
        sink.documents(changed);
      }
      if (failed !== undefined) sink.failure(failed);
      const wait = failed === undefined ? (this.options.pollIntervalMs ?? 5_000) : backoffDelay(this.options.backoff ?? DEFAULT_BACKOFF, failures++);
      if (failed === undefined) failures = 0;
      await sleep(wait, signal);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }
}
