/**
 * Migration definitions (migrations/NNN-name.json): validated against the JSON Schema, then
 * against the rules a schema cannot state. Every problem carries file, JSON pointer and message.
 * Pure: the caller reads the file.
 */
import migrationSchema from '../../migrations/schema/migration.schema.json' with { type: 'json' };
import { ConfigError, pointerTo, schemaValidator, type ConfigIssue } from '../validation/index.js';
import type { Flags, Plan } from './model.js';
import { readersAcceptBoth } from './flags.js';
import { ROLLBACK_TO_START } from './decider.js';

const validateDefinition = schemaValidator(migrationSchema);

export interface DefinitionChecks {
  /** Whether a step's gate file exists (the caller looks; parsing stays pure). Unchecked when absent. */
  readonly gateExists?: (shadowGate: string) => boolean;
}

/** Validates a parsed definition document and returns the plan; throws {@link ConfigError} listing every issue. */
export function parseMigrationDefinition(doc: unknown, file: string, checks: DefinitionChecks = {}): Plan {
  const issues: ConfigIssue[] = validateDefinition(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  const d = doc as Plan & { $schema?: string };
  const issue = (pointer: string, message: string) => issues.push({ file, pointer, message });

  const stageIndex = new Map<string, number>();
  d.stages.forEach((s, i) => {
    if (stageIndex.has(s.name)) issue(pointerTo('/stages', i, 'name'), `stage "${s.name}" is listed twice`);
    else stageIndex.set(s.name, i);
  });
  d.phases.forEach((p, i) => {
    if (p.number !== i + 1) issue(pointerTo('/phases', i, 'number'), `phases are numbered 1, 2, 3... in order: expected ${i + 1}, found ${p.number}`);
  });

  const seen = new Set<string>();
  const flagsByStage = new Map<string, Flags>(d.stages.map((s) => [s.name, d.initialFlags]));
  const readersDualByStage = new Map<string, boolean>();
  let previous: { phase: number; stage: number } | undefined;
  d.steps.forEach((step, i) => {
    const at = pointerTo('/steps', i);
    if (seen.has(step.id)) issue(pointerTo(at, 'id'), `step id "${step.id}" is used twice`);
    if (step.id === ROLLBACK_TO_START) issue(pointerTo(at, 'id'), `"${ROLLBACK_TO_START}" is reserved: rollback --to ${ROLLBACK_TO_START} means before the first step`);
    seen.add(step.id);
    const stage = stageIndex.get(step.stage);
    if (stage === undefined) {
      issue(pointerTo(at, 'stage'), `"${step.stage}" is not a stage of this migration (${d.stages.map((s) => s.name).join(', ')})`);
      return;
    }
    if (step.phase > d.phases.length) {
      issue(pointerTo(at, 'phase'), `phase ${step.phase} is not defined (this migration has ${d.phases.length})`);
      return;
    }
    if (previous !== undefined && (step.phase < previous.phase || (step.phase === previous.phase && stage < previous.stage))) {
      issue(at, `steps must be listed in rollout order (phase by phase, and within a phase stage by stage): "${step.id}" (phase ${step.phase}, ${step.stage}) comes after a later step`);
    }
    previous = { phase: step.phase, stage };
    if (checks.gateExists !== undefined && !checks.gateExists(step.gate.shadowGate)) {
      issue(pointerTo(at, 'gate', 'shadowGate'), `gate file "${step.gate.shadowGate}" does not exist`);
    }

    const before = flagsByStage.get(step.stage) ?? d.initialFlags;
    const after: Flags = { ...before, ...step.flags };
    flagsByStage.set(step.stage, after);
    if (after.tokenWriteMode === 'v2' && step.phase === 1) {
      issue(pointerTo(at, 'flags', 'tokenWriteMode'), 'writers may emit v2 tokens only after phase 1, once every reader in every stage accepts them');
    }
    if (after.tokenWriteMode === 'v2' && !readersAcceptBoth(after)) {
      issue(pointerTo(at, 'flags'), `a stage whose writers emit v2 tokens must keep readers accepting both formats (${step.stage} would read ${after.tokenReadMode} tokens, ${after.priorityScheme} priorities)`);
    }
    if (readersDualByStage.get(step.stage) === true && !readersAcceptBoth(after)) {
      issue(pointerTo(at, 'flags'), `readers in ${step.stage} already accept both formats; a step may not narrow them again (a rollback could no longer land safely)`);
    }
    if (readersAcceptBoth(after)) readersDualByStage.set(step.stage, true);
  });

  for (const phase of d.phases) {
    for (const stage of d.stages) {
      if (!d.steps.some((s) => s.phase === phase.number && s.stage === stage.name)) {
        issue('/steps', `phase ${phase.number} (${phase.name}) has no step in stage ${stage.name}: every phase must cover every stage`);
      }
    }
  }
  const firstPhase = d.steps.filter((s) => s.phase === 1);
  for (const stage of d.stages) {
    const last = firstPhase.filter((s) => s.stage === stage.name).reduce<Flags>((f, s) => ({ ...f, ...s.flags }), d.initialFlags);
    if (firstPhase.some((s) => s.stage === stage.name) && !readersAcceptBoth(last)) {
      issue('/steps', `phase 1 must leave readers in ${stage.name} accepting both token formats and both priority schemes (it leaves ${last.tokenReadMode} tokens, ${last.priorityScheme} priorities)`);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const { $schema: _schema, ...plan } = d;
  return plan;
}
