/**
 * The AppConfig client every command uses: the SDK's default credential chain and region
 * resolution, an endpoint override as the AWS CLI takes it, and the SDK's standard retry
 * (exponential backoff with jitter) bounded so a throttled or unreachable service fails in
 * seconds rather than hanging a CI job.
 */
import { AppConfigClient } from '@aws-sdk/client-appconfig';

export interface ConnectionOptions {
  readonly region?: string;
  /** `--endpoint-url`; else AWS_ENDPOINT_URL_APPCONFIG, else AWS_ENDPOINT_URL, else AWS's own. */
  readonly endpointUrl?: string;
  /** Attempts per call, the first included (the SDK retries throttling and network errors with backoff). */
  readonly maxAttempts?: number;
}

/** Attempts per call: enough to ride out a burst of throttling, few enough to fail fast. */
export const DEFAULT_MAX_ATTEMPTS = 4;

/** The endpoint an override names, in the AWS CLI's order of precedence; undefined: AWS's own. */
export function endpointFrom(option: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const chosen = option ?? env.AWS_ENDPOINT_URL_APPCONFIG ?? env.AWS_ENDPOINT_URL;
  return chosen === undefined || chosen === '' ? undefined : chosen;
}

export interface Connection {
  readonly client: AppConfigClient;
  /** Where calls go, for messages: the override, or `AWS AppConfig (<region>)`. */
  readonly endpointLabel: string;
  close(): void;
}

export function connect(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Connection {
  // The SDK warns on every process below Node 22 about its own future support policy; prio
  // supports Node 20.19, and a many-line notice in the middle of a CI log reads like a failure.
  // Setting the variable yourself (to anything) keeps your choice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const endpoint = endpointFrom(options.endpointUrl, env);
  const client = new AppConfigClient({
    ...(options.region === undefined ? {} : { region: options.region }),
    ...(endpoint === undefined ? {} : { endpoint }),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'standard',
  });
  const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  return {
    client,
    endpointLabel: endpoint ?? `AWS AppConfig (${region ?? 'default region'})`,
    close: () => client.destroy(),
  };
}
