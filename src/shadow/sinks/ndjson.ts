/**
 * The one NDJSON writer: records as JSON lines to a file (gzip-compressed when its name ends in
 * .gz) or to stdout, honouring back-pressure. `prio shadow generate` and the demo's generated
 * sample both write through it.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { FileWriteError } from '../../config/index.js';

/** Writes each record as one JSON line to `out` (.gz compressed), or to stdout when `out` is undefined. */
export async function writeNdjson(records: Iterable<unknown>, out: string | undefined): Promise<void> {
  const file = out === undefined ? null : createWriteStream(out);
  if (file !== null) {
    // An unwritable file (a missing directory) fails here, as one line (exit 2), not later as a crash.
    try {
      await once(file, 'open');
    } catch (err) {
      throw new FileWriteError(out ?? '', 'cannot write', err);
    }
  }
  const gzip = out !== undefined && out.endsWith('.gz') ? createGzip() : null;
  if (gzip !== null && file !== null) gzip.pipe(file);
  const target: NodeJS.WritableStream = gzip ?? file ?? process.stdout;
  // Lines are gathered into 64 KiB writes: one write per line costs more than the JSON.
  let buffer = '';
  for (const record of records) {
    buffer += `${JSON.stringify(record)}\n`;
    if (buffer.length >= 1 << 16) {
      if (!target.write(buffer)) await once(target, 'drain');
      buffer = '';
    }
  }
  if (buffer.length > 0) target.write(buffer);
  if (target !== process.stdout) {
    const done = once(file as NodeJS.WritableStream, 'finish');
    target.end();
    await done;
  }
}
