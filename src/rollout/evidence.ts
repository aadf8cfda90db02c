/**
 * Shadow evidence for a step: the newest records of the stage's request logs replayed against
 * the mapping in force and the mapping the step brings, judged by the step's gate, with the
 * gate's alarms as the fleet shows them now. The newest records are copied first, whole lines
 * only, so a log the fleet is still appending to is read as a consistent snapshot.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Domain } from '../catalog/index.js';
import { FileReadError, loadRuleSet, PACKAGE_ROOT, readJsonFile } from '../config/index.js';
import { parseEvidence, type AlarmState, type Evidence, type Flags, type Step } from '../migration/index.js';
import type { CompiledRuleSet } from '../rules/index.js';
import { rankingMapping } from '../service/index.js';
import { fileSource, kafkaSource, parseBrokers, parseGate, runReplay, type ProgressReporter, type RecordSource } from '../shadow/index.js';
import type { RequestLogSettings } from './settings.js';

/** The rule sets the flags' rulesVersion may name, by their version label. */
export class RuleSetsByVersion {
  private readonly byVersion = new Map<string, CompiledRuleSet>();
  constructor(files: readonly string[], domain: Domain) {
    for (const file of files) {
      const doc = readJsonFile(file) as { version?: unknown };
      if (typeof doc.version === 'string') this.byVersion.set(doc.version, loadRuleSet(file, domain));
    }
  }
  /**
   * The mapping flags put in force, as prio serve ranks with it: the legacy rule set until
   * service tiers are enforced (or the scheme is tiered), then the tier rule set rulesVersion names.
   * @throws Error naming the versions known
   */
  mappingFor(flags: Flags): CompiledRuleSet {
    const legacy = [...this.byVersion.values()].find((r) => r.scheme === 'legacy');
    if (rankingMapping(flags) === 'legacy' && legacy !== undefined) return legacy;
    const found = this.byVersion.get(flags.rulesVersion) ?? (flags.rulesVersion === legacyLabel(this.byVersion) ? [...this.byVersion.values()].find((r) => r.scheme === 'tier') : undefined);
    if (found === undefined) throw new Error(`rulesVersion "${flags.rulesVersion}" names no rule set known here (${[...this.byVersion.keys()].join(', ')})`);
    return found;
  }

  /**
   * The mapping a step brings: the tier rule set its rulesVersion names (the first one known when
   * it still names the legacy set), which its readers observe or rank by. Evidence replays it
   * against the mapping in force, so each step's gate judges the move the fleet is heading for.
   */
  stepMapping(flags: Flags): CompiledRuleSet {
    const named = this.byVersion.get(flags.rulesVersion);
    if (named !== undefined && named.scheme !== 'legacy') return named;
    const tier = [...this.byVersion.values()].find((r) => r.scheme !== 'legacy');
    if (tier === undefined) throw new Error('no tier rule set is known here');
    return tier;
  }
}

function legacyLabel(byVersion: ReadonlyMap<string, CompiledRuleSet>): string | undefined {
  return [...byVersion.entries()].find(([, r]) => r.scheme === 'legacy')?.[0];
}

const TAIL_CHUNK = 1 << 20;

/** The last `maxRecords` whole lines of a file (a line still being written is left out). */
export function tailLines(file: string, maxRecords: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new FileReadError(file, err);
  }
  try {
    const size = fstatSync(fd).size;
    const chunks: Buffer[] = [];
    let position = size;
    let newlines = 0;
    while (position > 0 && newlines <= maxRecords) {
      const length = Math.min(TAIL_CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      readSync(fd, chunk, 0, length, position);
      chunks.unshift(chunk);
      for (const b of chunk) if (b === 0x0a) newlines += 1;
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    const lines = complete.split('\n').filter((l) => l.trim() !== '');
    // Starting mid-file, the first piece may be the end of a longer line.
    if (position > 0) lines.shift();
    return lines.slice(-maxRecords);
  } finally {
    closeSync(fd);
  }
}

export interface EvidenceRequest {
  readonly step: Step;
  readonly run: number;
  /** Flags the stage runs now, and the flags the step deploys. */
  readonly before: Flags;
  readonly after: Flags;
  readonly log: RequestLogSettings;
  readonly records: number;
  readonly outDir: string;
  readonly alarms: Readonly<Record<string, AlarmState>>;
  readonly domain: Domain;
  readonly ruleSets: RuleSetsByVersion;
  readonly progress: ProgressReporter;
}

export interface GatheredEvidence {
  readonly evidence: Evidence;
  readonly reportDir: string;
}

/**
 * The records a step's evidence replays: the newest `records` lines of the stage's NDJSON logs,
 * copied (whole lines only) so a log still being appended to reads as one snapshot; or a Kafka
 * topic's window.
 */
function evidenceSource(log: RequestLogSettings, records: number, dir: string): { source: RecordSource; label: string } {
  if ('kafka' in log) {
    const { brokers, topic, windowMinutes } = log.kafka;
    const from = windowMinutes === undefined ? 'beginning' : new Date(Date.now() - windowMinutes * 60_000);
    return { source: kafkaSource({ brokers: parseBrokers(brokers), topic, window: { from } }), label: `kafka:${topic}${windowMinutes === undefined ? '' : ` (last ${windowMinutes} min)`}` };
  }
  const perFile = Math.max(1, Math.ceil(records / log.files.length));
  const lines = log.files.flatMap((f) => tailLines(f, perFile));
  const snapshot = join(dir, 'requests.ndjson');
  writeFileSync(snapshot, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  return { source: fileSource(snapshot), label: `${log.files.join(', ')} (newest ${lines.length} records)` };
}

export async function gatherEvidence(request: EvidenceRequest): Promise<GatheredEvidence> {
  const dir = join(request.outDir, 'evidence', `${request.step.id}-run${request.run}`);
  mkdirSync(dir, { recursive: true });
  const source = evidenceSource(request.log, request.records, dir);
  const gateFile = isAbsolute(request.step.gate.shadowGate) ? request.step.gate.shadowGate : join(PACKAGE_ROOT, request.step.gate.shadowGate);
  const gate = parseGate(readJsonFile(gateFile), gateFile);
  const result = await runReplay({
    source: source.source,
    domain: request.domain,
    baseline: request.ruleSets.mappingFor(request.before),
    candidate: request.ruleSets.stepMapping(request.after),
    outDir: dir,
    gate,
    sampleSize: 20,
    sampleSeed: 1,
    progress: request.progress,
    runInfo: { step: request.step.id, run: request.run, log: source.label },
  });
  if (result.kind !== 'complete') throw new Error(`shadow replay of ${source.label} was interrupted: ${result.error.message}`);
  const evidence = parseEvidence({
    report: result.report,
    reportFile: join(dir, 'report.json'),
    ...(result.verdict === undefined ? {} : { verdict: result.verdict, verdictFile: gateFile }),
    alarms: request.alarms,
  });
  return { evidence, reportDir: dir };
}
