// What `import ... from "lmrelay"` gives a config file (served by a Bun.plugin virtual module).
export { defineConfig } from "./config/define";
export type * from "./config/define";
export { env } from "./config/env";
