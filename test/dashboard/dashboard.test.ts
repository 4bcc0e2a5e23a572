import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, statSync } from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { type OpenAIFake, startOpenAIFake } from "../fakes/openai";
import { startGateway, type TestGateway } from "../helpers/gateway";

// The dashboard at /admin in a real browser (Debian's headless Chromium driven by playwright-core):
// sign in with the admin key, see a provider with its keys, a request with its attempts, and the
// spend; a screenshot lands in test-output/. Plus the HTTP contract of the page and its API.

const CHROMIUM = "/usr/bin/chromium";
const ADMIN = "admin-key-for-dashboard-test";
const CLIENT = "client-key-webapp-123456";
const OUT = path.resolve(import.meta.dir, "../../test-output");

let fake: OpenAIFake;
let gw: TestGateway;

const ask = (model: string, requestId: string) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${CLIENT}`, "x-request-id": requestId },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }),
  });

beforeAll(async () => {
  fake = await startOpenAIFake({ keys: ["sk-key-one-aaaa", "sk-key-two-bbbb"], models: ["m"] });
  fake.reply({ text: "Hello from upstream", usage: { input: 120_000, output: 80_000 } });
  gw = await startGateway({
    admin: { key: ADMIN },
    providers: {
      up: {
        type: "openai-compatible",
        baseUrl: `${fake.url}/v1`,
        keys: [{ key: "sk-key-one-aaaa", name: "primary" }, { key: "sk-key-two-bbbb", name: "backup" }],
        models: ["m"],
        pricing: { m: { input: 2, output: 10 } },
      },
      spare: { type: "echo", models: ["echo-1"] },
    },
    models: { chat: ["up/m"] },
    clients: { webapp: { key: CLIENT } },
  });
  // One that fails over (the first key answers 503), one plain, and one for an unknown model.
  fake.fail({ kind: "status", status: 503, body: { error: { message: "overloaded", type: "server_error" } } });
  await (await ask("chat", "req-dash-failover")).text();
  await (await ask("chat", "req-dash-plain")).text();
  await (await ask("no-such-model", "req-dash-unknown")).text();
  // A 429 with Retry-After cools that key down; the request moves on to the other key.
  fake.fail({ kind: "status", status: 429, headers: { "retry-after": "300" }, body: { error: { message: "slow down", type: "rate_limit_error" } } });
  await (await ask("chat", "req-dash-limited")).text();
});

afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
});

const auth = { authorization: `Bearer ${ADMIN}` };

describe("HTTP", () => {
  test("the page and its assets are served with a strict CSP; asset names carry their hash", async () => {
    const res = await fetch(`${gw.url}/admin`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).not.toContain(ADMIN); // the page itself holds no data
    const assets = [...html.matchAll(/(?:src|href)="(\/admin\/dashboard\.[a-z0-9]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const a of assets) {
      const r = await fetch(gw.url + a);
      expect(r.status).toBe(200);
      expect(r.headers.get("cache-control")).toContain("immutable");
      expect((await r.text()).length).toBeGreaterThan(1000);
    }
  });

  test("the timeseries API needs the admin key and counts requests and errors per minute", async () => {
    expect((await fetch(`${gw.url}/admin/api/timeseries`)).status).toBe(401);
    expect((await fetch(`${gw.url}/admin/api/timeseries`, { headers: { authorization: `Bearer ${CLIENT}` } })).status).toBe(401);
    expect((await fetch(`${gw.url}/admin/api/timeseries?minutes=0`, { headers: auth })).status).toBe(400);
    const res = await fetch(`${gw.url}/admin/api/timeseries?minutes=60`, { headers: auth });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.points).toHaveLength(60);
    expect(body.bucketMs).toBe(60_000);
    const total = body.points.reduce((n: number, p: any) => n + p.requests, 0);
    const errors = body.points.reduce((n: number, p: any) => n + p.errors, 0);
    expect(total).toBe(4);
    expect(errors).toBe(1);
    // The unknown model is the client's own 404, not a failure of lmrelay or an upstream.
    expect(body.points.reduce((n: number, p: any) => n + p.serverErrors, 0)).toBe(0);
    expect(body.points.at(-1).t).toBeLessThanOrEqual(Date.now());
  });

  test("without an admin key in the config the dashboard does not exist", async () => {
    const open = await startGateway({ providers: { e: { type: "echo", models: ["echo-1"] } } });
    try {
      const res = await fetch(`${open.url}/admin`);
      expect(res.status).toBe(404);
      expect(await res.text()).toContain("admin");
      expect((await fetch(`${open.url}/admin/api/timeseries`)).status).toBe(404);
    } finally {
      await open.stop();
    }
  });
});

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(
    `\n${"!".repeat(78)}\n!! SKIPPING the dashboard browser test: ${CHROMIUM} is missing.\n!! Install it with: apt-get install -y chromium   (.ci/run does this itself)\n${"!".repeat(78)}\n`,
  );

describe.skipIf(!haveChromium)("in Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  test("sign in, see the provider and its keys, a request with its attempts, and the spend", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 1100 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      // The wrong-key attempt below is a 401 the browser logs; anything else is a bug.
      if (m.type() === "error" && !m.text().includes("401")) problems.push(`console: ${m.text()}`);
    });
    try {
      await page.goto(`${gw.url}/admin`);
      await page.waitForSelector("#login-form", { state: "visible" });

      // A wrong key is refused and nothing is shown.
      await page.fill("#key", "not-the-key");
      await page.click("button[type=submit]");
      await page.waitForFunction(() => (globalThis as any).document.querySelector("#login-error")?.textContent?.includes("not accepted"));
      expect(await page.isVisible("#app")).toBe(false);

      await page.fill("#key", ADMIN);
      await page.click("button[type=submit]");
      await page.waitForSelector('#providers tr[data-provider="up"]', { timeout: 10_000 });

      // Providers and keys: health, error rate, latency, state.
      const providers = await page.textContent("#providers");
      expect(providers).toContain("up");
      expect(providers).toContain("primary");
      expect(providers).toContain("backup");
      expect(providers).toContain("spare");
      expect(providers).toContain("enabled");
      expect(providers).not.toContain("sk-key-one-aaaa");
      // The key that answered 429 is cooling down, with a live countdown.
      const countdown = page.locator("#providers tr.key [data-until]");
      expect(await countdown.count()).toBe(1);
      expect(await countdown.textContent()).toMatch(/^\d+ m \d\d s$/);

      // Recent requests, with the failover's attempts one click away.
      const row = page.locator('#requests tr[data-request="req-dash-failover"]');
      await row.waitFor();
      expect(await row.textContent()).toContain("up/m");
      await row.click();
      const details = await page.textContent("#requests tr.details");
      expect(details).toContain("503");
      expect(details).toContain("up/m");
      expect(await page.textContent('#requests tr[data-request="req-dash-unknown"]')).toContain("404");
      // Attempts count what x-lmrelay-attempts counts: two sent (503, then served), none skipped.
      expect(await row.locator("td").last().textContent()).toBe("2 ▾");

      // The failure-rate tile counts failures, not the client's own 404.
      const tiles = await page.textContent("#tiles");
      expect(tiles).toContain("Failure rate, last hour0%");
      expect(tiles).toContain("1 rejected (4xx: the client's own)");

      // Spend per client, provider and model: 3 answers × (120k in × $2 + 80k out × $10) / 1M = $3.12.
      await page.waitForFunction(() => (globalThis as any).document.querySelector("#spend")?.textContent?.includes("webapp"));
      const spend = await page.textContent("#spend");
      expect(spend).toContain("webapp");
      expect(spend).toContain("up/m");
      expect(spend).toContain("$3.12");
      // A rejected request reached no provider: no "(none)" line in spend by provider.
      expect(await page.textContent('[data-spend="provider"]')).not.toContain("(none)");
      expect(await page.textContent("#tiles")).toContain("$3.12");

      // The charts are drawn (inline SVG), with one bar group per minute.
      expect(await page.locator("#chart-rpm svg g").count()).toBe(60);
      expect(await page.locator("#chart-errors svg polyline").count()).toBe(1);
      expect(await page.locator("#chart-errors svg circle").count()).toBe(1);

      // The key lives in this tab's session storage only.
      expect(await page.evaluate(() => sessionStorage.getItem("lmrelay.adminKey"))).toBe(ADMIN);
      expect(await page.evaluate(() => localStorage.length)).toBe(0);

      mkdirSync(OUT, { recursive: true });
      const shot = path.join(OUT, "dashboard.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);

      // Signing out forgets the key.
      await page.click("#logout");
      await page.waitForSelector("#login-form", { state: "visible" });
      expect(await page.evaluate(() => sessionStorage.getItem("lmrelay.adminKey"))).toBeNull();
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  test("at 420 px wide nothing is cut off: the page does not scroll sideways and every provider cell is on screen", async () => {
    // One more request, now that the primary key cools down: it skips that key, then is served.
    const skipping = await ask("chat", "req-dash-skip");
    await skipping.text();
    expect(skipping.headers.get("x-lmrelay-attempts")).toBe("1");
    const context = await browser.newContext({ viewport: { width: 420, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    try {
      await page.goto(`${gw.url}/admin`);
      await page.waitForSelector("#login-form", { state: "visible" });
      await page.fill("#key", ADMIN);
      await page.click("button[type=submit]");
      await page.waitForSelector('#providers tr[data-provider="up"]', { timeout: 10_000 });
      await page.waitForFunction(() => (globalThis as any).document.querySelector("#spend")?.textContent?.includes("webapp"));
      expect(await page.evaluate(() => (globalThis as any).document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
      // Every cell of every provider and key row lies inside the viewport, label and value.
      const cells = await page.$$eval("#providers tbody td", (tds) =>
        tds.map((td) => {
          const r = td.getBoundingClientRect();
          return { label: td.getAttribute("data-label"), text: td.textContent, left: r.left, right: r.right, width: r.width };
        }),
      );
      expect(cells.length).toBeGreaterThan(20);
      for (const c of cells) {
        expect({ cell: `${c.label}: ${c.text}`, inside: c.left >= 0 && c.right <= 420 && c.width > 0 }).toEqual({ cell: `${c.label}: ${c.text}`, inside: true });
      }
      // The state of each key reads beside its label.
      const state = await page.locator('#providers tr.key td[data-label="State"]').first().evaluate((td) => (globalThis as any).getComputedStyle(td, "::before").content);
      expect(state).toBe('"State"');
      // A skipped candidate shows its reason, never a status 0, and the Attempts column counts what
      // x-lmrelay-attempts counts (1), with the skip beside it.
      const row = page.locator('#requests tr[data-request="req-dash-skip"]');
      await row.waitFor();
      expect(await row.locator("td").last().textContent()).toBe("1 +1 ▸");
      await row.click();
      const items = await page.locator("#requests tr.details li").allTextContents();
      expect(items).toHaveLength(2);
      const skipped = items.find((t) => t.startsWith("skipped"));
      expect(skipped).toContain("up/m");
      expect(skipped).toContain("primary");
      expect(items.some((t) => /^0\b/.test(t))).toBe(false);
      expect(items.find((t) => !t.startsWith("skipped"))).toMatch(/^200 /);
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: path.join(OUT, "dashboard-420.png"), fullPage: true });
    } finally {
      await context.close();
    }
  }, 60_000);
});
