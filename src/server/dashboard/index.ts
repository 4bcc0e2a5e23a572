import type { Elysia } from "elysia";
import type { ResolvedConfig } from "../../config/resolve";
import { isAdmin } from "../../governance/auth";
import type { Logger } from "../../log/logger";
import type { AuditWriter } from "../../store/audit";
import type { Db } from "../../store/db";
import { VERSION } from "../../version";
import css from "./dashboard.css.txt" with { type: "text" };
import js from "./dashboard.js.txt" with { type: "text" };
import page from "./page.html.txt" with { type: "text" };
import { adminDisabledReason } from "../admin";
import { requestSeries } from "./timeseries";

// The dashboard at /admin: one HTML page, one script, one stylesheet, all embedded in the binary.
// The page holds no data; its script asks the admin API with the admin key the user typed in (kept
// in sessionStorage). The strict CSP keeps any upstream text it displays from running as code.

export interface DashboardSources {
  config: ResolvedConfig;
  db: Db;
  audit: AuditWriter;
}

function hash(text: string): string {
  return Bun.hash(text).toString(36);
}

const JS_PATH = `/admin/dashboard.${hash(js)}.js`;
const CSS_PATH = `/admin/dashboard.${hash(css)}.css`;
const HTML = page.replaceAll("{{VERSION}}", VERSION).replaceAll("{{JS}}", JS_PATH).replaceAll("{{CSS}}", CSS_PATH);

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

const htmlResponse = (body: string, status = 200) =>
  new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache", ...SECURITY_HEADERS } });
// Asset names carry their content hash, so browsers may keep them.
const asset = (body: string, type: string) => () =>
  new Response(body, { headers: { "content-type": type, "cache-control": "public, max-age=31536000, immutable", ...SECURITY_HEADERS } });

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Names the variable to set when the config reads the admin key from one; else the field to add. */
function disabledPage(config: ResolvedConfig): string {
  const what = config.adminKeyVariable
    ? `<code>${escapeHtml(config.adminKeyVariable)}</code> is not set (<code>admin.key</code> in ${escapeHtml(config.file || "the config")} reads it): set it, e.g. in the <code>.env</code> file, and restart or reload lmrelay`
    : `set <code>admin: { key: env("LMRELAY_ADMIN_KEY") }</code> in the config`;
  return `<!doctype html><meta charset="utf-8"><title>lmrelay</title>\n<p>The lmrelay dashboard is disabled: ${what}.</p>`;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", "cache-control": "no-store" } });
}

/** Registers `/admin` (the page and its assets) and `/admin/api/timeseries` (its charts). */
export function registerDashboard(app: Elysia, sources: () => DashboardSources, log: Logger): void {
  const pageRoute = () => {
    const config = sources().config;
    return config.adminKey ? htmlResponse(HTML) : htmlResponse(disabledPage(config), 404);
  };
  app
    .get("/admin", pageRoute)
    .get("/admin/", pageRoute)
    .get(JS_PATH, asset(js, "text/javascript; charset=utf-8"))
    .get(CSS_PATH, asset(css, "text/css; charset=utf-8"))
    .get("/admin/api/timeseries", ({ request }) => {
      const src = sources();
      if (!src.config.adminKey) return json({ error: { message: `lmrelay: ${adminDisabledReason(src.config)}`, type: "not_found_error", code: "not_found" } }, 404);
      if (!isAdmin(src.config, request.headers)) {
        log.warn("admin API: request without a valid admin key", { path: "/admin/api/timeseries" });
        return json({ error: { message: "lmrelay: the admin API needs the admin key (Authorization: Bearer or x-api-key)", type: "authentication_error", code: "invalid_api_key" } }, 401);
      }
      const q = new URL(request.url).searchParams;
      const minutes = Number(q.get("minutes") ?? "60");
      const bucketS = Number(q.get("bucket") ?? "60");
      if (!(Number.isInteger(minutes) && minutes >= 1 && minutes <= 7 * 24 * 60) || !(Number.isInteger(bucketS) && bucketS >= 10 && bucketS <= 86_400))
        return json({ error: { message: "lmrelay: minutes must be 1..10080 and bucket 10..86400 seconds", type: "invalid_request_error", code: "invalid_query" } }, 400);
      src.audit.flush();
      return json(requestSeries(src.db, { minutes, bucketMs: bucketS * 1000 }));
    });
}
