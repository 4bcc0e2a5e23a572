import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
/** Set at build time by scripts/build.ts (`--define`); "dev" when running from source. */
declare const LMRELAY_COMMIT: string | undefined;
export const COMMIT: string = typeof LMRELAY_COMMIT === "string" ? LMRELAY_COMMIT : "dev";
