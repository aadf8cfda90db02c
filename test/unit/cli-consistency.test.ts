/**
 * Every command speaks the same language (issue 11.7): walks the whole command tree and checks
 * each command alike — an example in every help (groups too), --json on every command, one
 * name per option across commands (old names kept as hidden aliases that say they are
 * deprecated), `prio help <group> <command>`, and errors as JSON under --json.
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { runCli } from '../support/cli.js';

let printed = '';
const program = await buildProgram({ out: (t) => (printed += t), err: () => undefined }, () => undefined);

function all(c: Command, path: string[] = []): { path: string; command: Command }[] {
  const here = [...path, c.name()];
  return [{ path: here.join(' '), command: c }, ...c.commands.flatMap((s) => all(s, here))];
}
const commands = all(program).filter((c) => c.command.name() !== 'help');

describe('every command alike (issue 11.7)', () => {
  it.each(commands.map((c) => [c.path, c.command] as const))('%s: --help shows an example', (_path, command) => {
    printed = '';
    command.outputHelp();
    expect(printed).toMatch(/Example[^\n]*:\n[\s\S]*prio /);
  });

  it.each(commands.filter((c) => c.command.commands.length === 0).map((c) => [c.path, c.command] as const))('%s: has --json', (_path, command) => {
    expect(command.options.some((o) => o.long === '--json')).toBe(true);
  });

  it('one name per option: the catalog directory is --rules-dir, old and new rule sets --baseline and --candidate', () => {
    for (const { path, command } of commands) {
      const visible = command.options.filter((o) => !o.hidden);
      for (const o of visible) {
        expect([path, o.long]).not.toEqual([path, '--domain']);
        expect([path, o.long]).not.toEqual([path, '--old']);
        expect([path, o.long]).not.toEqual([path, '--new']);
        if (o.long === '--rules') expect([path, o.flags]).not.toEqual([path, '--rules <dir>']);
      }
    }
    const demo = commands.find((c) => c.path === 'prio demo')?.command;
    expect(demo?.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--baseline', '--candidate']));
  });

  it('old option names still work, with a one-line deprecation note', async () => {
    const r = await runCli('rules', 'check', '--domain', 'rules', 'rules/legacy.json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('note: --domain is deprecated; use --rules-dir\n');
    const t = await runCli('token', 'normalize', '--rules', 'rules', '--from', 'p', '--value', '75', '--json');
    expect(t.err).toContain('note: --rules is deprecated; use --rules-dir');
  });

  it('prio help rules check shows that command’s help', async () => {
    const viaHelp = await runCli('help', 'rules', 'check');
    const direct = await runCli('rules', 'check', '--help');
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.out).toBe(direct.out);
    expect(viaHelp.out).toContain('Usage: prio rules check');
  });

  it('errors come as JSON under --json, with the exit code', async () => {
    const r = await runCli('rules', 'diff', 'nowhere.json', 'rules/legacy.json', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({ error: expect.stringContaining('nowhere.json: cannot read'), exitCode: 2 });
    const usage = await runCli('shadow', 'replay', '--json');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.out)).toMatchObject({ exitCode: 2, error: expect.stringContaining('--out') });
  });
});
