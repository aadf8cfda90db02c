/**
 * Rollout settings: where each stage of a migration lives — its AppConfig environment, the
 * deployment strategy it is rolled out with, the fleet whose /metrics the alarms read, and the
 * request log its shadow evidence replays — plus the pace (poll interval, time scale). One JSON
 * file per pipeline (see scripts/rollout/), validated with file, JSON pointer and message.
 */
import { ConfigError, schemaValidator } from '../validation/index.js';
import type { Plan } from '../migration/index.js';

export type RequestLogSettings =
  | { readonly files: readonly string[] }
  | { readonly kafka: { readonly brokers: string; readonly topic: string; readonly windowMinutes?: number } };

export interface StageSettings {
  /** AppConfig environment of the stage. */
  readonly environment: string;
  /** Strategy short name from rules/deployment-strategies.json, or an AppConfig strategy name or id. */
  readonly strategy: string;
  /** Base URLs of the stage's `prio serve` instances (their /metrics feed the alarms). */
  readonly fleet: readonly string[];
  /**
   * Where the stage's request log is: NDJSON files it writes (the newest records are the shadow
   * evidence), or a Kafka topic (the records of the last `windowMinutes`, or all retained ones).
   */
  readonly requestLog: RequestLogSettings;
}

export interface RolloutSettings {
  readonly application: string;
  /** Configuration profile names (defaults: flags, rules). */
  readonly profiles: { readonly flags: string; readonly rules: string };
  /**
   * metrics: the fleet's /metrics judged by the migration file's alarm rules; cloudwatch: the
   * states of CloudWatch alarms (a rule's `cloudwatch` name, else the alarm's own name).
   */
  readonly alarmSource: 'metrics' | 'cloudwatch';
  /** Where the CloudWatch alarms are read (alarmSource cloudwatch); defaults from the SDK's chain. */
  readonly cloudwatch?: { readonly region?: string; readonly endpoint?: string };
  /** How often deployments and alarms are looked at, in seconds of real time. */
  readonly pollSeconds: number;
  /** Polls in a row an instance may miss before its fleet counts as no longer answering. */
  readonly unreachableAfter: number;
  /** Rehearsals only: bake times and the runner's clock run this many times faster. */
  readonly timeScale: number;
  /** How many of the newest request-log records a step's evidence replays. */
  readonly evidenceRecords: number;
  /** Where evidence reports and the rollout report are written. */
  readonly outDir: string;
  readonly stages: Readonly<Record<string, StageSettings>>;
}

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['application', 'stages'],
  properties: {
    $schema: { type: 'string' },
    application: { type: 'string', minLength: 1 },
    profiles: { type: 'object', additionalProperties: false, properties: { flags: { type: 'string', minLength: 1 }, rules: { type: 'string', minLength: 1 } } },
    alarmSource: { enum: ['metrics', 'cloudwatch'] },
    cloudwatch: {
      type: 'object',
      additionalProperties: false,
      properties: { region: { type: 'string', minLength: 1 }, endpoint: { type: 'string', pattern: '^https?://' } },
    },
    pollSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
    unreachableAfter: { type: 'integer', minimum: 1 },
    timeScale: { type: 'number', minimum: 1 },
    evidenceRecords: { type: 'integer', minimum: 1 },
    outDir: { type: 'string', minLength: 1 },
    stages: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['environment', 'strategy', 'fleet', 'requestLog'],
        properties: {
          environment: { type: 'string', minLength: 1 },
          strategy: { type: 'string', minLength: 1 },
          fleet: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^https?://' } },
          requestLog: {
            oneOf: [
              {
                type: 'object',
                additionalProperties: false,
                required: ['files'],
                properties: { files: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } } },
              },
              {
                type: 'object',
                additionalProperties: false,
                required: ['kafka'],
                properties: {
                  kafka: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['brokers', 'topic'],
                    properties: { brokers: { type: 'string', minLength: 1 }, topic: { type: 'string', minLength: 1 }, windowMinutes: { type: 'number', exclusiveMinimum: 0 } },
                  },
                },
              },
            ],
          },
        },
      },
    },
  },
};

const validate = schemaValidator(schema);

type Raw = Partial<Omit<RolloutSettings, 'profiles'>> & { profiles?: Partial<RolloutSettings['profiles']>; application: string; stages: RolloutSettings['stages'] };

/** Validates settings; `plan`, when given, must have every one of its stages described. @throws ConfigError */
export function parseRolloutSettings(doc: unknown, file: string, plan?: Plan): RolloutSettings {
  const issues = validate(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const raw = doc as Raw;
  if (plan !== undefined) {
    const missing = plan.stages.filter((s) => raw.stages[s.name] === undefined).map((s) => s.name);
    if (missing.length > 0) throw new ConfigError([{ file, pointer: '/stages', message: `no settings for stage ${missing.join(', ')} of ${plan.id}` }]);
  }
  return {
    application: raw.application,
    profiles: { flags: raw.profiles?.flags ?? 'flags', rules: raw.profiles?.rules ?? 'rules' },
    alarmSource: raw.alarmSource ?? 'metrics',
    ...(raw.cloudwatch === undefined ? {} : { cloudwatch: raw.cloudwatch }),
    pollSeconds: raw.pollSeconds ?? 5,
    unreachableAfter: raw.unreachableAfter ?? 3,
    timeScale: raw.timeScale ?? 1,
    evidenceRecords: raw.evidenceRecords ?? 5000,
    outDir: raw.outDir ?? 'reports/rollout',
    stages: raw.stages,
  };
}
