// Whether text arriving piece by piece can still become one JSON object (RFC 8259): a tool's
// arguments streamed as fragments are relayed to a client that parses every fragment (Anthropic's
// SDKs do) only while they are a valid beginning of an object, and held once they are not. The
// final word on the whole text stays with JSON.parse; this check only decides how early bytes may
// go out, so where it is unsure it says "not valid" (the bytes are then held, never lost).

type State =
  | "start" // before the top-level `{`
  | "keyOrEnd" // after `{`
  | "key" // after `,` in an object
  | "colon" // after a key
  | "value" // after `:` or `,` in an array
  | "valueOrEnd" // after `[`
  | "after" // after a value inside a container
  | "string"
  | "escape"
  | "unicode"
  | "number"
  | "literal"
  | "done" // the top-level object closed: only whitespace may follow
  | "invalid";

/** Number grammar positions: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. */
type NumberState = "sign" | "zero" | "int" | "dot" | "frac" | "exp" | "expSign" | "expDigits";

const WS = new Set([" ", "\t", "\n", "\r"]);
const isDigit = (c: string) => c >= "0" && c <= "9";
const isHex = (c: string) => isDigit(c) || (c >= "a" && c <= "f") || (c >= "A" && c <= "F");

export class JsonObjectPrefix {
  private state: State = "start";
  /** Open containers: `{` or `[`. */
  private readonly stack: string[] = [];
  private stringIsKey = false;
  private hexLeft = 0;
  private num: NumberState = "int";
  private literal = "";

  /** Feeds more text; true while everything so far can still become one JSON object. */
  push(text: string): boolean {
    for (const c of text) {
      if (this.state === "invalid") return false;
      this.step(c);
    }
    return this.state !== "invalid";
  }

  private step(c: string): void {
    switch (this.state) {
      case "start":
        if (WS.has(c)) return;
        if (c === "{") return this.open("{");
        return this.fail();
      case "keyOrEnd":
        if (WS.has(c)) return;
        if (c === "}") return this.close("{");
        if (c === '"') return this.beginString(true);
        return this.fail();
      case "key":
        if (WS.has(c)) return;
        if (c === '"') return this.beginString(true);
        return this.fail();
      case "colon":
        if (WS.has(c)) return;
        if (c === ":") return void (this.state = "value");
        return this.fail();
      case "valueOrEnd":
        if (c === "]") return this.close("[");
        return this.beginValue(c);
      case "value":
        return this.beginValue(c);
      case "after":
        return this.afterValue(c);
      case "string":
        if (c === '"') return this.stringIsKey ? void (this.state = "colon") : this.valueDone();
        if (c === "\\") return void (this.state = "escape");
        if (c < " ") return this.fail();
        return;
      case "escape":
        if (c === "u") {
          this.hexLeft = 4;
          return void (this.state = "unicode");
        }
        if ('"\\/bfnrt'.includes(c)) return void (this.state = "string");
        return this.fail();
      case "unicode":
        if (!isHex(c)) return this.fail();
        if (--this.hexLeft === 0) this.state = "string";
        return;
      case "number":
        return this.numberStep(c);
      case "literal":
        if (c !== this.literal[0]) return this.fail();
        this.literal = this.literal.slice(1);
        if (this.literal === "") this.valueDone();
        return;
      case "done":
        if (WS.has(c)) return;
        return this.fail();
      case "invalid":
        return;
    }
  }

  private beginValue(c: string): void {
    if (WS.has(c)) return;
    if (c === "{") return this.open("{");
    if (c === "[") return this.open("[");
    if (c === '"') return this.beginString(false);
    if (c === "-" || isDigit(c)) {
      this.state = "number";
      this.num = c === "-" ? "sign" : c === "0" ? "zero" : "int";
      return;
    }
    const word = c === "t" ? "true" : c === "f" ? "false" : c === "n" ? "null" : undefined;
    if (!word) return this.fail();
    this.literal = word.slice(1);
    this.state = "literal";
  }

  private numberStep(c: string): void {
    switch (this.num) {
      case "sign":
        if (!isDigit(c)) return this.fail();
        this.num = c === "0" ? "zero" : "int";
        return;
      case "int":
      case "zero":
        // After a leading zero no digit may follow; after other digits, more may.
        if (this.num === "int" && isDigit(c)) return;
        if (c === ".") return void (this.num = "dot");
        if (c === "e" || c === "E") return void (this.num = "exp");
        return this.endNumber(c);
      case "dot":
        if (!isDigit(c)) return this.fail();
        this.num = "frac";
        return;
      case "frac":
        if (isDigit(c)) return;
        if (c === "e" || c === "E") return void (this.num = "exp");
        return this.endNumber(c);
      case "exp":
        if (c === "+" || c === "-") return void (this.num = "expSign");
        if (!isDigit(c)) return this.fail();
        this.num = "expDigits";
        return;
      case "expSign":
        if (!isDigit(c)) return this.fail();
        this.num = "expDigits";
        return;
      case "expDigits":
        if (isDigit(c)) return;
        return this.endNumber(c);
    }
  }

  /** A number ends at the first character that cannot continue it; that character is read next. */
  private endNumber(c: string): void {
    this.valueDone();
    this.step(c);
  }

  private afterValue(c: string): void {
    if (WS.has(c)) return;
    const top = this.stack.at(-1);
    if (c === ",") return void (this.state = top === "{" ? "key" : "value");
    if (c === "}" && top === "{") return this.close("{");
    if (c === "]" && top === "[") return this.close("[");
    this.fail();
  }

  private beginString(isKey: boolean): void {
    this.stringIsKey = isKey;
    this.state = "string";
  }

  private open(bracket: string): void {
    this.stack.push(bracket);
    this.state = bracket === "{" ? "keyOrEnd" : "valueOrEnd";
  }

  private close(bracket: string): void {
    if (this.stack.pop() !== bracket) return this.fail();
    this.valueDone();
  }

  private valueDone(): void {
    this.state = this.stack.length === 0 ? "done" : "after";
  }

  private fail(): void {
    this.state = "invalid";
  }
}
