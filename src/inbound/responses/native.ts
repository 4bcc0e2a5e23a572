import type { GatewayError } from "../../core/errors";
import type { StreamEvent } from "../../core/types";
import type { StreamEncoder } from "../http";
import type { Json } from "../openai/check";
import { type ResponseHead, responseObject } from "./encode";
import { failedCode, failedMessage } from "./errors";

// The answer of an upstream that serves the Responses API itself (OpenAI, Azure): its SSE bytes go
// to the client as they came. lmrelay writes only what the upstream could not: `response.failed`
// when the stream breaks (numbered after the upstream's last event), keep-alive comments. The final
// response is read from the bytes to keep it in lmrelay's store like every other answer.

const COMPLETED = /(?:^|\n)event: ?response\.(?:completed|incomplete)\n/;

export class NativeStreamEncoder implements StreamEncoder {
  private lastSeq = -1;
  /** Text of the frame that carries the final response, gathered across reads. */
  private tail = "";
  private decoder = new TextDecoder();

  constructor(
    private readonly head: ResponseHead,
    private readonly onFinished?: (response: Json) => void,
  ) {}

  encode(ev: StreamEvent): string | Uint8Array {
    if (ev.type !== "raw") return "";
    const text = typeof ev.data === "string" ? ev.data : this.decoder.decode(ev.data, { stream: true });
    const at = text.lastIndexOf('"sequence_number":');
    if (at >= 0) {
      const n = Number.parseInt(text.slice(at + 18, at + 30), 10);
      if (Number.isFinite(n)) this.lastSeq = n;
    }
    if (this.onFinished && (this.tail !== "" || COMPLETED.test(text))) this.tail += text;
    return ev.data;
  }

  end(): string {
    const response = finalResponse(this.tail);
    if (response) this.onFinished?.(response);
    return "";
  }

  error(err: GatewayError): string {
    const response = responseObject(this.head, { status: "failed", output: [], error: { code: failedCode(err), message: failedMessage(err) } });
    const seq = this.lastSeq + 1;
    return `event: response.failed\ndata: {"type":"response.failed","sequence_number":${seq},"response":${JSON.stringify(response)}}\n\n`;
  }
}

/** The `response` of the completed/incomplete event in `text`, if it parses. */
function finalResponse(text: string): Json | undefined {
  const m = COMPLETED.exec(text);
  if (!m) return undefined;
  const start = text.indexOf("data:", m.index);
  if (start < 0) return undefined;
  const end = text.indexOf("\n\n", start);
  try {
    const payload = JSON.parse(text.slice(start + 5, end < 0 ? undefined : end).trim()) as { response?: Json };
    return payload.response;
  } catch {
    return undefined;
  }
}
