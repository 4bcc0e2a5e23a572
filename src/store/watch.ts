import { renameSync, rmSync, statSync } from "node:fs";
import type { Logger } from "../log/logger";
import type { Db } from "./db";

// A database file deleted under a running server is not an error SQLite reports: writes go on into
// the unlinked file and vanish with it. This watch notices (the path no longer names the file that
// was opened), says so loudly, and writes the open database back to its path — at once and again
// at shutdown — so nothing audited is lost. A file *replaced* by another is left alone (someone
// restored a backup on purpose); that is only reported.

const CHECK_MS = 5_000;

export class DatabaseFileWatch {
  private readonly inode: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Set once the file was found deleted: the open database lives only in an unlinked file. */
  orphaned = false;

  constructor(
    private readonly db: Db,
    private readonly file: string,
    private readonly log: Logger,
    checkMs = CHECK_MS,
  ) {
    this.inode = file === ":memory:" ? undefined : inodeOf(file);
    if (this.inode === undefined) return;
    this.timer = setInterval(() => this.check(), checkMs);
    this.timer.unref?.();
  }

  /** Compares the path with the opened file; rescues a deleted one. */
  check(): void {
    if (this.inode === undefined || this.orphaned) return;
    const now = inodeOf(this.file);
    if (now === this.inode) return;
    if (now !== undefined) {
      this.log.error("the database file was replaced while lmrelay runs; audit rows go to the file opened at start until a restart", { file: this.file });
      this.stop();
      return;
    }
    this.orphaned = true;
    const rescued = this.rescue();
    this.log.error("the database file was deleted while lmrelay runs; it was written back from the open copy and will be again at shutdown — restart lmrelay to write to it directly", {
      file: this.file,
      rescued,
    });
  }

  /** Writes a complete copy of the open database to its path (through a temporary file). */
  private rescue(): boolean {
    const tmp = `${this.file}.rescue-${process.pid}`;
    try {
      rmSync(tmp, { force: true });
      this.db.$client.exec(`VACUUM INTO '${tmp.replaceAll("'", "''")}'`);
      renameSync(tmp, this.file);
      return true;
    } catch (err) {
      rmSync(tmp, { force: true });
      this.log.error("could not write the deleted database file back", { file: this.file, error: (err as Error).message });
      return false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** At shutdown, before the database closes: a deleted file gets its final copy. */
  close(): void {
    this.stop();
    if (this.orphaned) this.rescue();
  }
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}
