/**
 * One of two processes racing on one file-store stream (see eventstore-file.test.ts):
 * `node --import tsx eventstore-writer-child.ts DIR STREAM WRITER ROUNDS`. Each round reads the
 * head and appends one event after it; prints the rounds it won as JSON on stdout.
 */
import { ConcurrencyConflict, FileEventStore } from '../../src/eventstore/index.js';

const [dir, stream, writer, roundsArg] = process.argv.slice(2);
if (dir === undefined || stream === undefined || writer === undefined) throw new Error('usage: DIR STREAM WRITER ROUNDS');
const store = new FileEventStore({ dir });
const won: { round: number; version: number }[] = [];
let conflicts = 0;
for (let round = 0; round < Number(roundsArg ?? 1000); round += 1) {
  const head = await store.version(stream);
  try {
    const r = await store.append(stream, head, [{ type: 'Raced', data: { writer, round }, meta: { commandId: `${writer}-${round}`, recordedAt: new Date().toISOString() } }]);
    won.push({ round, version: r.toVersion });
  } catch (err) {
    if (!(err instanceof ConcurrencyConflict)) throw err;
    conflicts += 1;
  }
}
process.stdout.write(`${JSON.stringify({ writer, won, conflicts })}\n`);
