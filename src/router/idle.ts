// The inter-chunk idle timeout of a relayed stream: when an upstream goes silent mid-answer for
// longer than the limit, the attempt is aborted and the client gets its protocol's error event
// instead of a hang. One timer per stream that re-arms itself; an event only stores a timestamp.

/** Ollama loads a model on its first request; its first byte may take minutes. */
export const OLLAMA_FIRST_BYTE_FACTOR = 3;

export class IdleWatch {
  private last = performance.now();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Set once the limit was hit (the abort came from here). */
  fired = false;

  constructor(
    private readonly limitMs: number,
    private readonly onIdle: () => void,
  ) {
    this.arm(limitMs);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      const silent = performance.now() - this.last;
      if (silent >= this.limitMs) {
        this.timer = undefined;
        this.fired = true;
        this.onIdle();
      } else this.arm(this.limitMs - silent);
    }, ms);
    this.timer.unref?.();
  }

  touch(): void {
    this.last = performance.now();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
