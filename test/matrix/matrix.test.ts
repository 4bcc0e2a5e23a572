import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type TestGateway } from "../helpers/gateway";
import { clientFor, clientsFor, INBOUNDS } from "./clients";
import { type ImageHost, startImageHost } from "./imagehost";
import { type CellContext, IMPOSSIBLE, impossibleCell, NOT_EXPRESSIBLE, SCENARIOS } from "./scenarios";
import type { ClientDriver, InboundName, UpstreamFixture } from "./types";
import { startFixture, WIRES } from "./upstreams";

// The translation matrix (issue 3): 4 inbound protocols (official SDK clients) × every upstream wire
// format (a real-HTTP fake of each) × stream / non-stream × the scenarios in scenarios.ts. One
// gateway per upstream, with one provider `up` pointed at that upstream's fake. Cells the protocols
// cannot express are listed in IMPOSSIBLE with the reason, and check the clear refusal instead.

let images: ImageHost;
beforeAll(() => {
  images = startImageHost();
});
afterAll(async () => {
  await images.stop();
});

for (const wire of WIRES) {
  describe(`upstream ${wire}`, () => {
    let up: UpstreamFixture;
    let gw: TestGateway;
    let clients: Record<InboundName, ClientDriver>;

    beforeAll(async () => {
      up = await startFixture(wire);
      gw = await startGateway({ providers: { up: up.provider }, routing: { maxAttempts: 1 } });
      clients = clientsFor(gw.url);
    });
    afterAll(async () => {
      await gw?.stop();
      await up?.fake.stop();
    });

    for (const inbound of INBOUNDS)
      for (const stream of [false, true])
        for (const scenario of SCENARIOS) {
          const name = `${inbound} client → ${wire} · ${stream ? "stream" : "non-stream"} · ${scenario.name}`;
          const ctx = (): CellContext => ({ client: clients[inbound], up, gw, stream, images });
          const impossible = impossibleCell(inbound, wire, scenario.name);
          if (impossible) test(`${name} — impossible: ${impossible.reason}; refused clearly instead`, () => impossible.instead(ctx()));
          else test(name, () => scenario.run(ctx()));
        }
  });
}

describe("the tables of what cannot be expressed", () => {
  test("every impossible cell names a real scenario, client or upstream", () => {
    for (const c of IMPOSSIBLE) {
      expect(SCENARIOS.map((s) => s.name)).toContain(c.scenario);
      if (c.inbound) expect(INBOUNDS).toContain(c.inbound);
      if (c.wire) expect(WIRES).toContain(c.wire);
      expect(c.reason.length).toBeGreaterThan(20);
    }
  });

  test("the partial cells agree with what the drivers and fixtures declare", async () => {
    const drivers = INBOUNDS.map((n) => clientFor(n, "http://127.0.0.1:1"));
    const fixtures: UpstreamFixture[] = [];
    for (const wire of WIRES) fixtures.push(await startFixture(wire));
    try {
      for (const usage of ["cacheReads", "cacheWrites"] as const) {
        const flag = usage === "cacheReads" ? "reportsCacheReads" : "reportsCacheWrites";
        const listed = NOT_EXPRESSIBLE.filter((p) => p.usage === usage);
        expect(listed.flatMap((p) => p.inbound ?? [])).toEqual(drivers.filter((d) => !d[flag]).map((d) => d.name));
        expect(listed.flatMap((p) => p.wire ?? [])).toEqual(fixtures.filter((f) => !f[flag]).map((f) => f.wire));
      }
    } finally {
      for (const f of fixtures) await f.fake.stop();
    }
  });
});
