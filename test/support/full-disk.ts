/**
 * A small disk of its own for a test: a tmpfs of a few hundred KiB mounted on a directory, and a
 * filler file that takes every free byte so the next write meets a real ENOSPC from the kernel
 * (no mock: short writes, then ENOSPC, exactly as a full disk behaves). Mounting needs root (or
 * CAP_SYS_ADMIN); `smallDiskSupported()` says whether this machine allows it, so a test can say
 * why it cannot run instead of passing without checking anything.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export interface SmallDisk {
  /** The mount point. */
  readonly dir: string;
  /** Fills every free byte with a filler file; resolves with the bytes it took. */
  fill(): number;
  /** Removes the filler: the space is back. */
  free(): void;
  /** Bytes available to an unprivileged writer right now. */
  available(): number;
  unmount(): void;
}

let probed: string | undefined;

/** Undefined when a tmpfs can be mounted here, else why not (one line). */
export function smallDiskUnsupported(): string | undefined {
  if (probed !== undefined) return probed === '' ? undefined : probed;
  const dir = join('/tmp', `prio-tmpfs-probe-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    probed = '';
  } catch (err) {
    probed = `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${(err as Error).message.split('\n')[0] ?? ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return probed === '' ? undefined : probed;
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to whole pages by the kernel) on `dir`. */
export function mountSmallDisk(dir: string, sizeBytes: number): SmallDisk {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  const filler = join(dir, '.filler');
  let mounted = true;
  const available = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    available,
    fill() {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 0x66);
      let taken = 0;
      try {
        for (;;) {
          const n = writeSync(fd, chunk);
          taken += n;
          if (n === 0) break;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
      return taken;
    },
    free() {
      try {
        unlinkSync(filler);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      // Lazy: a descriptor still open in this process must not keep the mount (and the test) alive.
      execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
    },
  };
}

/**
 * For a test file: `mount(prefix)` gives a fresh small disk of `sizeBytes` under a temporary
 * directory named by `prefix`; every disk is unmounted and its directory removed after the file.
 */
export function smallDisksForThisFile(sizeBytes = 64 * 1024): { mount(prefix: string): SmallDisk } {
  const disks: SmallDisk[] = [];
  const dirs: string[] = [];
  afterAll(() => {
    disks.forEach((d) => d.unmount());
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });
  return {
    mount(prefix) {
      const root = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(root);
      const disk = mountSmallDisk(join(root, 'disk'), sizeBytes);
      disks.push(disk);
      return disk;
    },
  };
}
