import protobuf from "protobufjs";

// A fake OpenTelemetry collector on 127.0.0.1: `POST /v1/traces` in OTLP/HTTP, protobuf
// (`application/x-protobuf`) or JSON (`application/json`), decoded into plain spans. The message
// definitions below are the official ones' (opentelemetry-proto, v1: trace/v1/trace.proto,
// common/v1/common.proto, resource/v1/resource.proto, collector/trace/v1/trace_service.proto),
// field names and numbers as published, reduced to the fields lmrelay's tests read.

const PROTO = `
syntax = "proto3";
package opentelemetry.proto;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const ExportRequest = protobuf.parse(PROTO, { keepCase: false }).root.lookupType("opentelemetry.proto.ExportTraceServiceRequest");

/** OTLP `SpanKind`: 2 = SERVER, 3 = CLIENT. */
export const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, unknown>;
  status: { code: number; message?: string };
  resource: Record<string, unknown>;
}

export interface OtlpFake {
  url: string;
  spans: ReceivedSpan[];
  /** Content types of the exports received. */
  contentTypes: string[];
  /** Raw export bodies as received (for "no secret anywhere" checks). */
  bodies: Uint8Array[];
  /** Answer the next exports with this status (e.g. 503), or normally when undefined. */
  failWith(status: number | undefined): void;
  /** Waits until `n` spans arrived (bounded). */
  waitFor(n: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  stop(): void;
}

const hex = (b: Uint8Array | string | undefined): string => {
  if (!b) return "";
  if (typeof b === "string") return b.length === 32 || b.length === 16 ? b.toLowerCase() : Buffer.from(b, "base64").toString("hex");
  return Buffer.from(b).toString("hex");
};

function anyValue(v: any): unknown {
  if (!v) return undefined;
  if ("stringValue" in v) return v.stringValue;
  if ("boolValue" in v) return v.boolValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("doubleValue" in v) return Number(v.doubleValue);
  if ("arrayValue" in v) return (v.arrayValue.values ?? []).map(anyValue);
  return undefined;
}

const attrs = (list: any[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, anyValue(kv.value)]));
const ms = (nanos: unknown) => Number(BigInt(String(nanos ?? 0)) / 1_000_000n);

function decode(body: Uint8Array, contentType: string): ReceivedSpan[] {
  const msg: any = contentType.includes("json")
    ? JSON.parse(new TextDecoder().decode(body))
    : ExportRequest.toObject(ExportRequest.decode(body), { longs: String, bytes: Array, defaults: false });
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          traceId: hex(Array.isArray(s.traceId) ? Uint8Array.from(s.traceId) : s.traceId),
          spanId: hex(Array.isArray(s.spanId) ? Uint8Array.from(s.spanId) : s.spanId),
          parentSpanId: hex(Array.isArray(s.parentSpanId) ? Uint8Array.from(s.parentSpanId) : s.parentSpanId),
          name: s.name,
          kind: Number(s.kind ?? 0),
          startMs: ms(s.startTimeUnixNano),
          endMs: ms(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message },
          resource,
        });
  }
  return out;
}

export function startOtlpFake(): OtlpFake {
  const spans: ReceivedSpan[] = [];
  const contentTypes: string[] = [];
  const bodies: Uint8Array[] = [];
  let failStatus: number | undefined;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method !== "POST" || url.pathname !== "/v1/traces") return new Response("not found", { status: 404 });
      if (failStatus !== undefined) return new Response("unavailable", { status: failStatus });
      const type = req.headers.get("content-type") ?? "";
      const body = new Uint8Array(await req.arrayBuffer());
      contentTypes.push(type);
      bodies.push(body);
      spans.push(...decode(body, type));
      // OTLP/HTTP success: an ExportTraceServiceResponse, empty, in the request's encoding.
      return type.includes("json")
        ? new Response("{}", { headers: { "content-type": "application/json" } })
        : new Response(new Uint8Array(0), { headers: { "content-type": "application/x-protobuf" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    spans,
    contentTypes,
    bodies,
    failWith: (s) => void (failStatus = s),
    async waitFor(n, timeoutMs = 5_000) {
      const until = Date.now() + timeoutMs;
      while (spans.length < n && Date.now() < until) await Bun.sleep(20);
      return spans;
    },
    stop: () => server.stop(true),
  };
}
