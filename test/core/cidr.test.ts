import { describe, expect, test } from "bun:test";
import { compileCidrs, parseCidr, parseIp } from "../../src/core/cidr";

describe("parseIp", () => {
  test("IPv4 maps into ::ffff:0:0/96, and the mapped IPv6 spelling is the same address", () => {
    expect(parseIp("10.1.2.3")).toBe(parseIp("::ffff:10.1.2.3"));
    expect(parseIp("10.1.2.3")).toBe(parseIp("::ffff:a01:203"));
  });
  test("IPv6 forms: compressed, full, zone, brackets", () => {
    expect(parseIp("::1")).toBe(1n);
    expect(parseIp("0:0:0:0:0:0:0:1")).toBe(1n);
    expect(parseIp("fe80::1%eth0")).toBe(parseIp("fe80:0:0:0:0:0:0:1"));
    expect(parseIp("[2001:db8::5]")).toBe(parseIp("2001:db8:0:0:0:0:0:5"));
  });
  test("garbage is not an address", () => {
    for (const bad of ["", "1.2.3", "1.2.3.256", "1.2.3.4.5", "::1::2", "1:2:3:4:5:6:7:8:9", "gggg::1", "localhost", "1.2.3.-1"])
      expect(parseIp(bad)).toBeUndefined();
  });
});

describe("CIDR matching", () => {
  test("IPv4 ranges, including the client seen as an IPv4-mapped IPv6 address", () => {
    const m = compileCidrs(["10.0.0.0/8", "192.168.1.7"]);
    expect(m("10.200.3.4")).toBe(true);
    expect(m("::ffff:10.200.3.4")).toBe(true);
    expect(m("11.0.0.1")).toBe(false);
    expect(m("192.168.1.7")).toBe(true);
    expect(m("192.168.1.8")).toBe(false);
  });
  test("boundaries of a /30", () => {
    const m = compileCidrs(["172.16.0.4/30"]);
    expect(["172.16.0.3", "172.16.0.4", "172.16.0.7", "172.16.0.8"].map(m)).toEqual([false, true, true, false]);
  });
  test("IPv6 ranges; an IPv4 rule never matches a native IPv6 address", () => {
    const m = compileCidrs(["fd00::/8", "::1/128"]);
    expect(m("fd12:3456::1")).toBe(true);
    expect(m("fe80::1")).toBe(false);
    expect(m("::1")).toBe(true);
    expect(compileCidrs(["0.0.0.0/0"])("2001:db8::1")).toBe(false);
    expect(compileCidrs(["0.0.0.0/0"])("8.8.8.8")).toBe(true);
    expect(compileCidrs(["::/0"])("8.8.8.8")).toBe(true);
  });
  test("an empty list, an absent or unparsable address never match", () => {
    expect(compileCidrs([])("127.0.0.1")).toBe(false);
    expect(compileCidrs(["127.0.0.0/8"])(undefined)).toBe(false);
    expect(compileCidrs(["127.0.0.0/8"])("nonsense")).toBe(false);
  });
  test("bad CIDRs are refused with the reason", () => {
    expect(() => parseCidr("10.0.0.0/33")).toThrow("prefix length must be 0-32");
    expect(() => parseCidr("::/129")).toThrow("0-128");
    expect(() => parseCidr("10.0.0/8")).toThrow("not an IPv4 or IPv6");
    expect(() => parseCidr("10.0.0.0/x")).toThrow();
  });
});
