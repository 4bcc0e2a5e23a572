// Whether stdout is a terminal, without touching `process.stdout`: its getter builds a Node stream,
// which loads Bun's node:stream modules (≈ 20 ms of start-up, for one boolean). Bun's tty binding
// answers the same question as `tty.isatty(1)`; the stream stays the fallback.

export function stdoutIsTerminal(): boolean {
  try {
    const tty = (process as unknown as { binding(name: string): { isTTY(fd: number): boolean } }).binding("tty_wrap");
    return Boolean(tty.isTTY(1));
  } catch {
    return Boolean(process.stdout.isTTY);
  }
}
