// Bun lets one process run at most 256 fetch() calls at once unless BUN_CONFIG_MAX_HTTP_REQUESTS
// is in the environment when the process starts: Bun reads it once while booting, before any of
// our code runs, and offers no way to change the limit later (process.env and a Worker's env do not
// reach it; an --env-file baked into the binary's exec-argv would, but reads only real files, not
// embedded ones). A gateway relaying thousands of concurrent streams needs more, so `serve`
// re-executes itself once with the variable set; execve keeps the PID, so systemd's MAINPID and
// signals are unaffected. main.ts does this before loading any command: the first process costs
// little more than Bun's own boot.

/** The systemd unit sets it to this too, so the service starts without the re-exec. */
export const FETCH_LIMIT = "65535";

/** `atStart`: the variable as the process got it (before --env-file): only that value counts. An
 *  --env-file may name the limit; without one, FETCH_LIMIT. */
export function ensureFetchConcurrency(atStart: string | undefined): void {
  if (atStart) return;
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string | undefined>) => never }).execve;
  if (typeof execve !== "function") return;
  // A compiled binary sees its embedded entry (`/$bunfs/...`) as argv[1]; `bun src/main.ts` sees the script.
  const rest = process.argv[1]?.startsWith("/$bunfs/") ? process.argv.slice(2) : process.argv.slice(1);
  execve(process.execPath, [process.execPath, ...rest], { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: process.env.BUN_CONFIG_MAX_HTTP_REQUESTS || FETCH_LIMIT });
}
