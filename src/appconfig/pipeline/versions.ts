/**
 * Hosted configuration versions: publishing a document once. Every version's description
 * carries the sha256 of its content, so publishing the same bytes again finds the version that
 * holds them instead of making a new one; the latest version number is passed back to AppConfig
 * so two publishers racing cannot silently overwrite each other's view of "latest".
 */
import { createHash } from 'node:crypto';
import {
  CreateHostedConfigurationVersionCommand,
  GetHostedConfigurationVersionCommand,
  paginateListHostedConfigurationVersions,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { PipelineError } from './errors.js';
import type { Named } from './resolve.js';

export interface VersionSummary {
  readonly version: number;
  readonly description: string;
  readonly label: string | undefined;
}

export function sha256Hex(content: Uint8Array): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The description a published version carries: `prio sha256:<hex>[ commit:<sha>]`. */
export function versionDescription(sha256: string, commit: string | undefined): string {
  return `prio sha256:${sha256}${commit === undefined ? '' : ` commit:${commit}`}`;
}

/** The content digest a version description records, if it records one. */
export function digestIn(description: string): string | undefined {
  return /(?:^|\s)sha256:([0-9a-f]{64})(?:\s|$)/.exec(description)?.[1];
}

/** The git commit a version description records, if it records one. */
export function commitIn(description: string): string | undefined {
  return /(?:^|\s)commit:([0-9a-f]{7,40})(?:\s|$)/.exec(description)?.[1];
}

/** The newest version holding content with this digest (the one a deployment would pick). */
export function findIdenticalVersion(versions: readonly VersionSummary[], sha256: string): VersionSummary | undefined {
  return versions.filter((v) => digestIn(v.description) === sha256).sort((a, b) => b.version - a.version)[0];
}

export function latestVersion(versions: readonly VersionSummary[]): number | undefined {
  return versions.length === 0 ? undefined : Math.max(...versions.map((v) => v.version));
}

export async function listVersions(client: AppConfigClient, appId: string, profileId: string): Promise<VersionSummary[]> {
  const out: VersionSummary[] = [];
  for await (const page of paginateListHostedConfigurationVersions({ client }, { ApplicationId: appId, ConfigurationProfileId: profileId })) {
    for (const v of page.Items ?? []) {
      if (v.VersionNumber !== undefined) out.push({ version: v.VersionNumber, description: v.Description ?? '', label: v.VersionLabel });
    }
  }
  return out;
}

export interface PublishRequest {
  readonly app: Named;
  readonly profile: Named;
  readonly content: Uint8Array;
  readonly commit?: string;
  readonly label?: string;
}

export interface PublishResult {
  readonly version: number;
  /** false: identical content was already published as `version`; nothing was created. */
  readonly created: boolean;
  readonly sha256: string;
}

/** Publishes validated content, or finds the version that already holds it. */
export async function publishVersion(client: AppConfigClient, request: PublishRequest): Promise<PublishResult> {
  const sha256 = sha256Hex(request.content);
  const versions = await listVersions(client, request.app.id, request.profile.id);
  const identical = findIdenticalVersion(versions, sha256);
  if (identical !== undefined) return { version: identical.version, created: false, sha256 };
  const latest = latestVersion(versions);
  const out = await client.send(
    new CreateHostedConfigurationVersionCommand({
      ApplicationId: request.app.id,
      ConfigurationProfileId: request.profile.id,
      Content: request.content,
      ContentType: 'application/json',
      Description: versionDescription(sha256, request.commit),
      ...(latest === undefined ? {} : { LatestVersionNumber: latest }),
      ...(request.label === undefined ? {} : { VersionLabel: request.label }),
    }),
  );
  if (out.VersionNumber === undefined) throw new PipelineError('aws', 'AppConfig created a version but did not say its number');
  return { version: out.VersionNumber, created: true, sha256 };
}

/** The content of one hosted version, parsed as JSON. */
export async function fetchVersionDocument(client: AppConfigClient, app: Named, profile: Named, version: number): Promise<unknown> {
  const out = await client.send(new GetHostedConfigurationVersionCommand({ ApplicationId: app.id, ConfigurationProfileId: profile.id, VersionNumber: version }));
  const text = new TextDecoder().decode(out.Content ?? new Uint8Array());
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PipelineError('invalid', `${app.name}/${profile.name} version ${version} is not JSON: ${(err as Error).message}`);
  }
}
