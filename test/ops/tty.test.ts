import { expect, test } from "bun:test";
import { stdoutIsTerminal } from "../../src/log/tty";

// The logger's "pretty when stdout is a terminal" asks Bun's tty binding instead of process.stdout.

test("stdoutIsTerminal agrees with process.stdout.isTTY", () => {
  expect(stdoutIsTerminal()).toBe(Boolean(process.stdout.isTTY));
});

test("a child whose stdout is a pipe is not on a terminal", () => {
  const p = Bun.spawnSync([process.execPath, "-e", `import { stdoutIsTerminal } from "${import.meta.dir}/../../src/log/tty"; console.log(stdoutIsTerminal())`], { stdout: "pipe" });
  expect(p.stdout.toString().trim()).toBe("false");
});

test.skipIf(!Bun.which("script"))("under a pseudo-terminal it is", () => {
  const cmd = `${process.execPath} -e 'import { stdoutIsTerminal } from "${import.meta.dir}/../../src/log/tty"; console.log(stdoutIsTerminal())'`;
  const p = Bun.spawnSync(["script", "-qc", cmd, "/dev/null"], { stdout: "pipe" });
  expect(p.stdout.toString()).toContain("true");
});
