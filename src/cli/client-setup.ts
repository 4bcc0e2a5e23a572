import type { CLIENT_NAMES } from "./commands";

// What each client needs to talk to lmrelay, as data: the environment, a config snippet where the
// client reads a file, and the program `lmrelay run` starts. Pure: the gateway address, key and
// model names come in; `lmrelay env` prints the result and `lmrelay run` applies it. The variable
// names are each client's own documented ones (cited per entry).

export type ClientName = (typeof CLIENT_NAMES)[number];

export interface Gateway {
  /** Server root, e.g. http://127.0.0.1:11435 (no trailing slash). */
  root: string;
  /** The client key to send; a placeholder when `keyIsPlaceholder`. */
  key: string;
  keyIsPlaceholder: boolean;
  /** The main model name (an alias or provider/model) and a cheaper one for background work. */
  model: string;
  fastModel: string;
}

export interface ClientSetup {
  title: string;
  env: Record<string, string>;
  /** A file the client reads, with the snippet to put there. */
  file?: { path: string; content: string };
  /** Files `lmrelay run` writes (in a private folder) and points a variable at, for what a
   *  client takes only from a file. */
  runFiles?: { envVar: string; fileName: string; content: string }[];
  /** Program and leading arguments `lmrelay run` starts; undefined = the command after `--`. */
  command?: string[];
  /** False when the client is an editor plugin or a file only (nothing to start). */
  runnable: boolean;
  notes: string[];
}

/** The environment variable Codex and opencode read the key from (named in their config). */
export const KEY_VAR = "LMRELAY_API_KEY";

export function clientSetup(client: ClientName, g: Gateway): ClientSetup {
  const v1 = `${g.root}/v1`;
  switch (client) {
    case "claude":
      // Claude Code settings docs: ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN (sent as a Bearer
      // token, no interactive key approval), ANTHROPIC_MODEL, ANTHROPIC_DEFAULT_HAIKU_MODEL
      // (background tasks; ANTHROPIC_SMALL_FAST_MODEL is its older name).
      return {
        title: "Claude Code",
        env: {
          ANTHROPIC_BASE_URL: g.root,
          ANTHROPIC_AUTH_TOKEN: g.key,
          ANTHROPIC_MODEL: g.model,
          ANTHROPIC_DEFAULT_HAIKU_MODEL: g.fastModel,
          ANTHROPIC_SMALL_FAST_MODEL: g.fastModel,
        },
        command: ["claude"],
        runnable: true,
        notes: [`then: claude (or: lmrelay run claude -- -p "hello")`],
      };
    case "codex": {
      // Codex config docs: a [model_providers.<id>] table with base_url (ending in /v1; Codex adds
      // /responses), wire_api = "responses" and env_key naming the variable with the key. `-c`
      // takes the same keys as TOML values, so `run` needs no file.
      const provider = `{ name = "lmrelay", base_url = ${toml(v1)}, wire_api = "responses", env_key = "${KEY_VAR}" }`;
      return {
        title: "Codex CLI",
        env: { [KEY_VAR]: g.key },
        file: {
          path: "~/.codex/config.toml",
          content: [
            `model = ${toml(g.model)}`,
            `model_provider = "lmrelay"`,
            "",
            "[model_providers.lmrelay]",
            `name = "lmrelay"`,
            `base_url = ${toml(v1)}`,
            `wire_api = "responses"`,
            `env_key = "${KEY_VAR}"`,
          ].join("\n"),
        },
        command: ["codex", "-c", `model_provider="lmrelay"`, "-c", `model_providers.lmrelay=${provider}`, "-c", `model=${toml(g.model)}`],
        runnable: true,
        notes: ["root keys (model, model_provider) go above any [table] in config.toml", "then: codex (or: lmrelay run codex -- exec \"hello\")"],
      };
    }
    case "gemini": {
      // Gemini CLI configuration reference: GOOGLE_GEMINI_BASE_URL (server root; http only for
      // localhost), GEMINI_API_KEY, GEMINI_MODEL; GEMINI_DEFAULT_AUTH_TYPE preselects the auth
      // dialog. Headless (-p), a base URL in the environment selects its "gateway" auth, which
      // 0.61 then refuses ("Invalid auth method selected") unless settings name "gemini-api-key":
      // `run` passes that as the lowest-precedence settings layer (GEMINI_CLI_SYSTEM_DEFAULTS_PATH).
      const settings = JSON.stringify({ security: { auth: { selectedType: "gemini-api-key" } } }, null, 2);
      return {
        title: "Gemini CLI",
        env: { GOOGLE_GEMINI_BASE_URL: g.root, GEMINI_API_KEY: g.key, GEMINI_MODEL: g.model, GEMINI_DEFAULT_AUTH_TYPE: "gemini-api-key" },
        file: { path: "~/.gemini/settings.json (merge in)", content: settings },
        runFiles: [{ envVar: "GEMINI_CLI_SYSTEM_DEFAULTS_PATH", fileName: "gemini-system-defaults.json", content: settings }],
        command: ["gemini"],
        runnable: true,
        notes: [
          'then: gemini (or: lmrelay run gemini -- -p "hello"; headless outside a trusted folder add --skip-trust)',
          "Gemini CLI takes a plain http:// base URL only for localhost; elsewhere put lmrelay behind https",
        ],
      };
    }
    case "openai":
      // openai (Python and Node) SDKs read OPENAI_BASE_URL and OPENAI_API_KEY.
      return {
        title: "OpenAI SDKs (Python, Node) and tools built on them",
        env: { OPENAI_BASE_URL: v1, OPENAI_API_KEY: g.key },
        runnable: true,
        notes: [`model names: ${modelList(g)}`, "run a program with these set: lmrelay run openai -- python app.py"],
      };
    case "anthropic":
      // anthropic (Python and Node) SDKs read ANTHROPIC_BASE_URL (server root) and ANTHROPIC_API_KEY.
      return {
        title: "Anthropic SDKs (Python, Node)",
        env: { ANTHROPIC_BASE_URL: g.root, ANTHROPIC_API_KEY: g.key },
        runnable: true,
        notes: [`model names: ${modelList(g)}`, "run a program with these set: lmrelay run anthropic -- node app.js"],
      };
    case "aider":
      // aider docs (OpenAI compatible APIs): OPENAI_API_BASE, OPENAI_API_KEY and an `openai/`
      // model prefix; every option also reads AIDER_<OPTION>.
      return {
        title: "aider",
        env: { OPENAI_API_BASE: v1, OPENAI_API_KEY: g.key, AIDER_MODEL: `openai/${g.model}`, AIDER_WEAK_MODEL: `openai/${g.fastModel}` },
        command: ["aider"],
        runnable: true,
        notes: ["then: aider (or: lmrelay run aider)", "aider warns it does not know the context window of an lmrelay alias; that is harmless"],
      };
    case "continue":
      // Continue config.yaml reference: models[] with provider "openai", model, apiBase, apiKey.
      return {
        title: "Continue (VS Code / JetBrains)",
        env: {},
        file: {
          path: "~/.continue/config.yaml",
          content: [
            "models:",
            `  - name: lmrelay ${g.model}`,
            "    provider: openai",
            `    model: ${g.model}`,
            `    apiBase: ${v1}`,
            `    apiKey: ${g.key}`,
            "    roles: [chat, edit, apply]",
            `  - name: lmrelay ${g.fastModel}`,
            "    provider: openai",
            `    model: ${g.fastModel}`,
            `    apiBase: ${v1}`,
            `    apiKey: ${g.key}`,
            "    roles: [autocomplete]",
          ].join("\n"),
        },
        runnable: false,
        notes: ["add these under `models:` in Continue's config.yaml; Continue reloads it by itself"],
      };
    case "opencode": {
      // opencode config docs: a custom provider through @ai-sdk/openai-compatible with
      // options.baseURL; "{env:NAME}" is substituted; OPENCODE_CONFIG_CONTENT holds inline JSON.
      const config = {
        $schema: "https://opencode.ai/config.json",
        provider: {
          lmrelay: {
            npm: "@ai-sdk/openai-compatible",
            name: "lmrelay",
            options: { baseURL: v1, apiKey: `{env:${KEY_VAR}}` },
            models: Object.fromEntries([...new Set([g.model, g.fastModel])].map((m) => [m, { name: m }])),
          },
        },
        model: `lmrelay/${g.model}`,
        small_model: `lmrelay/${g.fastModel}`,
      };
      return {
        title: "opencode",
        env: { [KEY_VAR]: g.key, OPENCODE_CONFIG_CONTENT: JSON.stringify(config) },
        file: { path: "~/.config/opencode/opencode.json", content: JSON.stringify(config, null, 2) },
        command: ["opencode"],
        runnable: true,
        notes: ["OPENCODE_CONFIG_CONTENT carries the same JSON, so the file is optional", "then: opencode (or: lmrelay run opencode)"],
      };
    }
    case "open-webui":
      // Open WebUI environment reference: OPENAI_API_BASE_URL, OPENAI_API_KEY, DEFAULT_MODELS (it
      // lists every other name from /v1/models).
      return {
        title: "Open WebUI",
        env: { OPENAI_API_BASE_URL: v1, OPENAI_API_KEY: g.key, DEFAULT_MODELS: g.model },
        command: ["open-webui", "serve"],
        runnable: true,
        notes: [
          "then: open-webui serve (or: lmrelay run open-webui)",
          "in Docker, 127.0.0.1 is the container itself: use http://host.docker.internal:PORT/v1 with --add-host=host.docker.internal:host-gateway, and serve lmrelay on an address the container reaches",
        ],
      };
  }
}

/** Shell text that sets the environment (`export NAME='value'`). */
export function shellExports(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`);
}

export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function toml(s: string): string {
  return JSON.stringify(s); // a TOML basic string is a JSON string for everything we write
}

function modelList(g: Gateway): string {
  return g.model === g.fastModel ? g.model : `${g.model}, ${g.fastModel}`;
}
