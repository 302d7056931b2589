// bench/soak's view of the lab's pop.log: read as it grows, across rotations.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

/** Reads pop.log as it grows; when it is rotated (another inode), finishes the old one (now pop.log.1) first. */
export class LogFollower {
  private ino = -1;
  private offset = 0;
  private partial = '';
  constructor(private readonly path: string, private readonly onLine: (l: string) => void) {}
  poll(): void {
    let st;
    try {
      st = statSync(this.path);
    } catch {
      return;
    }
    if (st.ino !== this.ino) {
      if (this.ino !== -1) this.drain(`${this.path}.1`);
      this.ino = st.ino;
      this.offset = 0;
      this.partial = '';
    }
    this.drain(this.path);
  }
  private drain(path: string): void {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return;
    }
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        const text = this.partial + buf.subarray(0, n).toString('utf8');
        const lines = text.split('\n');
        this.partial = lines.pop()!;
        for (const l of lines) if (l) this.onLine(l);
      }
    } finally {
      closeSync(fd);
    }
  }
}
