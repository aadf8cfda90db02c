/**
 * Child process of the shadow benchmark: runs the real `prio shadow replay` over the file in
 * argv[2] (reports into argv[3]) and prints its own peak RSS, so the figure is the CLI's alone.
 */
import { main } from '../../src/cli/main.js';

const [file, out] = process.argv.slice(2);
if (file === undefined || out === undefined) throw new Error('usage: rss-child.ts <log file> <out dir>');
const silent = { out: () => undefined, err: () => undefined };
const code = await main(['node', 'prio', 'shadow', 'replay', '--file', file, '--out', out, '--quiet'], silent);
if (code !== 0) throw new Error(`prio shadow replay exited ${code}`);
process.stdout.write(`${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
