/**
 * The runner's clock. In production it is the wall clock. In a rehearsal it runs `scale` times
 * faster from an anchor every runner derives from the stream (the instant the migration was
 * planned), so bake times of hours pass in seconds, and a runner restarted on another machine
 * reads the same time as the one it replaces. Event times written under a scale lie in the
 * future by design: such a stream belongs to a rehearsal.
 */
export function scaledClock(anchorMs: number, scale: number, wall: () => number = Date.now): () => Date {
  if (scale === 1) return () => new Date(wall());
  return () => {
    const now = wall();
    return new Date(anchorMs + Math.max(0, now - anchorMs) * scale);
  };
}

/** Real milliseconds until a scaled instant is reached. */
export function realMsUntil(targetIso: string, nowIso: string, scale: number): number {
  return Math.max(0, (Date.parse(targetIso) - Date.parse(nowIso)) / scale);
}
