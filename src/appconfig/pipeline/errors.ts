/**
 * How the pipeline fails: every failure a person can act on becomes one line and an exit code,
 * never a stack trace. AWS errors (the SDK's exceptions, network and credential failures) are
 * translated here, once, so every command words them alike.
 */

/** What a failure means for the caller: `refused` and `usage` exit 2, `invalid` exits 1. */
export type FailureKind = 'usage' | 'refused' | 'not-found' | 'aws' | 'invalid';

/** A failure of the pipeline, already worded as the one line a person reads. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface AwsLikeError {
  readonly name?: string;
  /** A BadRequestException's list of what a validator found (AppConfig's InvalidConfiguration). */
  readonly Details?: { readonly InvalidConfiguration?: readonly { readonly Location?: string; readonly Reason?: string }[] };
  readonly message?: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode?: number; readonly attempts?: number };
  readonly cause?: unknown;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'TimeoutError']);
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
const EXPIRED = new Set(['ExpiredTokenException', 'ExpiredToken', 'RequestExpired', 'TokenRefreshRequired']);
const BAD_CREDENTIALS = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'AccessDeniedException']);

/** The first single line of a message (SDK messages sometimes span several). */
function firstLine(text: string): string {
  return (text.split('\n')[0]?.trim() ?? '').replace(/\.$/, '');
}

function networkCode(err: AwsLikeError): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as AwsLikeError).code ?? (e as AwsLikeError).name;
    if (code !== undefined && NETWORK_CODES.has(code)) return code;
    e = (e as AwsLikeError).cause;
  }
  return undefined;
}

/**
 * Words any error from an AppConfig call as one line. `endpoint` names where the call went
 * (shown for network failures, where it is what the person must check). Undefined for an
 * error that is neither ours nor AWS's: that is a bug, and keeps its stack.
 */
export function describeAwsError(err: unknown, endpoint: string): PipelineError | undefined {
  if (err instanceof PipelineError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as AwsLikeError;
  const name = e.name ?? 'Error';
  const message = firstLine(e.message ?? '');
  const attempts = e.$metadata?.attempts;
  const after = attempts !== undefined && attempts > 1 ? ` (after ${attempts} attempts)` : '';
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new PipelineError('aws', `no AWS credentials found: ${message} (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role)`, { cause: err });
  }
  if (EXPIRED.has(name) || /expired/i.test(name)) {
    return new PipelineError('aws', `AWS credentials expired: ${message || name}; refresh them (e.g. aws sso login) and retry`, { cause: err });
  }
  if (BAD_CREDENTIALS.has(name)) return new PipelineError('aws', `AWS refused the credentials: ${name}: ${message}`, { cause: err });
  if (THROTTLING.has(name)) return new PipelineError('aws', `AppConfig throttled the request${after}: ${message || name}; retry later`, { cause: err });
  const network = networkCode(e);
  if (network !== undefined) return new PipelineError('aws', `cannot reach AppConfig at ${endpoint}: ${network}${after}`, { cause: err });
  if (/region is missing/i.test(message)) return new PipelineError('usage', 'no AWS region: pass --region or set AWS_REGION', { cause: err });
  if (name === 'ResourceNotFoundException') return new PipelineError('not-found', `AppConfig: not found: ${message}`, { cause: err });
  if (name === 'ConflictException') return new PipelineError('refused', `AppConfig refused (conflict): ${message}`, { cause: err });
  if (name === 'BadRequestException') {
    // A reason may already start with its location (AppConfig's own do not; some endpoints' do).
    const found = (e.Details?.InvalidConfiguration ?? []).map((d) => {
      const reason = d.Reason ?? 'invalid';
      return d.Location === undefined || reason.startsWith(d.Location) ? reason : `${d.Location}: ${reason}`;
    });
    return new PipelineError('refused', `AppConfig refused the request: ${message}${found.length === 0 ? '' : ` (${found.join('; ')})`}`, { cause: err });
  }
  if (name === 'ServiceQuotaExceededException' || name === 'PayloadTooLargeException') return new PipelineError('refused', `AppConfig refused: ${name}: ${message}`, { cause: err });
  if (e.$metadata !== undefined) {
    const status = e.$metadata.httpStatusCode;
    return new PipelineError('aws', `AppConfig error ${name}${status === undefined ? '' : ` (HTTP ${status})`}${after}: ${message}`, { cause: err });
  }
  if (err instanceof TypeError && /fetch|url/i.test(message)) return new PipelineError('usage', `bad endpoint ${endpoint}: ${message}`, { cause: err });
  return undefined;
}
