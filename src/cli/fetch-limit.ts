// Bun lets one process run at most 256 fetch() calls at once unless BUN_CONFIG_MAX_HTTP_REQUESTS
// is set when the process starts (setting it later has no effect). A gateway relaying thousands
// of concurrent streams needs more, so `serve` re-executes itself once with the variable set;
// execve keeps the PID, so systemd's MAINPID and signals are unaffected.

/** The systemd unit sets it to this too, so the service starts without the re-exec. */
export const FETCH_LIMIT = "65535";

export function ensureFetchConcurrency(): void {
  if (process.env.BUN_CONFIG_MAX_HTTP_REQUESTS) return;
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string | undefined>) => never }).execve;
  if (typeof execve !== "function") return;
  // A compiled binary sees its embedded entry (`/$bunfs/...`) as argv[1]; `bun src/main.ts` sees the script.
  const rest = process.argv[1]?.startsWith("/$bunfs/") ? process.argv.slice(2) : process.argv.slice(1);
  execve(process.execPath, [process.execPath, ...rest], { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: FETCH_LIMIT });
}
