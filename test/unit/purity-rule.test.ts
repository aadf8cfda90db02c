import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The repository's own lint configuration, applied to source text that is never written to
// src/. Planted files are in no tsconfig project, so they are parsed without type information,
// and only the rule under test runs (the type-aware rules need a project).
const eslint = new ESLint({
  cwd: process.cwd(),
  overrideConfig: { languageOptions: { parserOptions: { projectService: false } } },
  ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-imports',
});

async function restrictedImports(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  const messages = result?.messages ?? [];
  const fatal = messages.find((m) => m.fatal === true);
  if (fatal !== undefined) throw new Error(`${filePath}: ${fatal.message}`);
  return messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const IO_IMPORTS = [
  "import { readFileSync } from 'node:fs';",
  "import { readFile } from 'fs/promises';",
  "import { connect } from 'net';",
  "import { request } from 'node:https';",
  "import { Worker } from 'node:worker_threads';",
  "import { spawn } from 'child_process';",
  "import { argv } from 'node:process';",
  "import { Kafka } from 'kafkajs';",
  "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
  "import pino from 'pino';",
  "import { request as send } from 'undici';",
  "import { Counter } from 'prom-client';",
];

const planted = (imports: readonly string[]) => `${imports.join('\n')}\nexport const planted = 1;\n`;

describe('the functional core imports no I/O', () => {
  it.each(['src/rules/planted.ts', 'src/scheduler/core/planted.ts', 'src/migration/service.ts', 'src/shadow/core/aggregate.ts', 'src/shadow/core/planted.ts', 'src/shadow/source.ts', 'src/appconfig/documents/planted.ts', 'src/service/decide.ts', 'src/eventstore/port.ts'])('refuses every I/O module in %s', async (file) => {
    const messages = await restrictedImports(file, planted(IO_IMPORTS));
    expect(messages).toHaveLength(IO_IMPORTS.length);
    for (const message of messages) expect(message).toMatch(/core code does no I\/O/);
  });

  it('allows the same imports in the shell', async () => {
    for (const file of ['src/shadow/sources/planted.ts', 'src/shadow/runner.ts', 'src/shadow/merge.ts', 'src/shadow/parallel/planted.ts', 'src/shadow/sinks/planted.ts', 'src/eventstore/stores/planted.ts', 'src/cli/planted.ts', 'src/scheduler/runtime.ts']) {
      expect(await restrictedImports(file, planted(IO_IMPORTS)), file).toEqual([]);
    }
  });

  it('allows pure modules in the core (node:crypto, ajv)', async () => {
    expect(await restrictedImports('src/tokens/planted.ts', "import { createHmac } from 'node:crypto';\nimport { Ajv } from 'ajv';\nexport const planted = [createHmac, Ajv];\n")).toEqual([]);
  });
});

describe('parts import each other through index.ts', () => {
  it('refuses a path into another part', async () => {
    expect(await restrictedImports('src/cli/planted.ts', "import { compileModel } from '../rules/compile.js';\nexport const planted = compileModel;\n")).toEqual([expect.stringMatching(/through its index\.ts/)]);
    expect(await restrictedImports('src/shadow/sources/planted.ts', "import { lintRuleSet } from '../../rules/lint.js';\nexport const planted = lintRuleSet;\n")).toEqual([expect.stringMatching(/through its index\.ts/)]);
  });

  it('allows the index, files of the same part and schemas outside src', async () => {
    const source = [
      "import { compileRuleSet } from '../rules/index.js';",
      "import { table } from './output.js';",
      "import schema from '../../rules/schema/ruleset.schema.json' with { type: 'json' };",
      'export const planted = [compileRuleSet, table, schema];',
      '',
    ].join('\n');
    expect(await restrictedImports('src/cli/planted.ts', source)).toEqual([]);
    expect(await restrictedImports('src/shadow/sources/planted.ts', "import { recordTimeMs } from '../record.js';\nexport const planted = recordTimeMs;\n")).toEqual([]);
  });

  it("allows a part's port.ts (a port without its adapters), still refusing the adapters themselves", async () => {
    expect(await restrictedImports('src/migration/planted.ts', "import { ConcurrencyConflict } from '../eventstore/port.js';\nexport const planted = ConcurrencyConflict;\n")).toEqual([]);
    expect(await restrictedImports('src/migration/planted.ts', "import { FileEventStore } from '../eventstore/adapters.js';\nexport const planted = FileEventStore;\n")).toEqual([expect.stringMatching(/through its index\.ts/)]);
    expect(await restrictedImports('src/cli/planted.ts', "import { FileEventStore } from '../eventstore/stores/file.js';\nexport const planted = FileEventStore;\n")).toEqual([expect.stringMatching(/through its index\.ts/)]);
  });
});
