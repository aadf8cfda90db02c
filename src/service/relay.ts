/**
 * Copies an upstream body to the client chunk by chunk, honouring back-pressure, and resolves
 * when the client has the whole body. Rejects (and destroys the client's response) when either
 * side fails or goes away. Lighter than `stream.pipeline`, which builds an AbortController and
 * an AbortError (with its stack) for every response it finishes.
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

export function relay(body: Readable, res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      res.off('drain', onDrain);
      res.off('close', onClose);
      if (err === undefined) resolve();
      else {
        body.destroy();
        res.destroy();
        reject(err);
      }
    };
    const onData = (chunk: Buffer) => {
      if (!res.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => res.end(() => finish());
    const onError = (err: Error) => finish(err);
    const onClose = () => {
      if (!res.writableFinished) finish(new Error('the client closed the connection before the response ended'));
    };
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onError);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
