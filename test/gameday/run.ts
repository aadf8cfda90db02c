/**
 * `npm run gameday [-- --only ID,ID] [--ci]`: starts the services every scenario may use (the
 * test setup's: Kafka, DynamoDB Local, `prio appconfig local`, Toxiproxy), runs the scenarios one
 * by one, prints each verdict and writes the results under reports/gameday/.
 * Exit 0 when every scenario passed, 1 otherwise, 2 on a usage error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import setup from '../support/global-setup.js';
import { loadScenarios, runScenario, type ScenarioRun } from './runner.js';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? new Set((args[onlyAt + 1] ?? '').split(',').filter(Boolean)) : undefined;
const ciOnly = args.includes('--ci');
const outDir = join(process.cwd(), 'reports', 'gameday');

const all = await loadScenarios();
const unknown = only === undefined ? [] : [...only].filter((id) => !all.some((s) => s.id === id));
if (unknown.length > 0) {
  console.error(`gameday: no scenario ${unknown.join(', ')}; known: ${all.map((s) => s.id).join(', ')}`);
  process.exit(2);
}
const chosen = all.filter((s) => (only === undefined || only.has(s.id)) && (!ciOnly || s.ci));
const teardown = await setup();
const runs: ScenarioRun[] = [];
try {
  const services = {
    kafkaBrokers: process.env.KAFKA_BROKERS as string,
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT as string,
    appConfigEndpoint: process.env.APPCONFIG_ENDPOINT as string,
    toxiproxy: new Toxiproxy(process.env.TOXIPROXY_URL as string),
  };
  for (const scenario of chosen) {
    console.log(`▶ ${scenario.id}: ${scenario.title}`);
    const run = await runScenario(scenario, { services, outDir, onLog: (_s, line) => console.log(`  ${line}`) });
    runs.push(run);
    console.log(`${run.passed ? '✔' : '✘'} ${scenario.id} (${(run.durationMs / 1000).toFixed(1)} s)${run.failure === undefined ? '' : `: ${run.failure}`}`);
  }
} finally {
  await teardown();
}
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'results.json'), `${JSON.stringify(runs.map((r) => ({ ...r, scenario: { ...r.scenario, run: undefined } })), null, 2)}\n`);
const failed = runs.filter((r) => !r.passed);
console.log(`${runs.length - failed.length}/${runs.length} scenarios passed`);
process.exit(failed.length === 0 ? 0 : 1);
