// Keep-alive comments for a streamed answer that has gone silent (a slow first token, a long tool
// call being written): some clients give up on an idle stream (Codex after 300 s), proxies sooner.
// One shared timer per period looks at every open stream; a stream that wrote nothing since the
// last look gets the comment. The cost per answer event is one counter increment.

export interface KeepAlive {
  /** How often a silent stream gets the comment, ms. */
  ms: number;
  /** The bytes to write (an SSE comment: `: keep-alive\n\n`). */
  comment: string;
}

/** What streamBody writes to. */
interface Sink {
  write(chunk: string): unknown;
  flush(): unknown;
}

export class Heartbeat {
  /** Writes since the stream began; streamBody counts them. */
  writes = 0;
  private seen = -1;

  constructor(
    private readonly sink: Sink,
    private readonly comment: string,
  ) {}

  /** Called by the shared timer: a comment when nothing was written since the last call. */
  tick(): void {
    if (this.writes === this.seen) {
      this.sink.write(this.comment);
      this.sink.flush();
    }
    this.seen = this.writes;
  }
}

const groups = new Map<number, { beats: Set<Heartbeat>; timer: ReturnType<typeof setInterval> }>();

export function startHeartbeat(sink: Sink, ka: KeepAlive): Heartbeat {
  const beat = new Heartbeat(sink, ka.comment);
  let group = groups.get(ka.ms);
  if (!group) {
    const beats = new Set<Heartbeat>();
    const timer = setInterval(() => {
      for (const b of beats) b.tick();
    }, ka.ms);
    timer.unref?.();
    group = { beats, timer };
    groups.set(ka.ms, group);
  }
  group.beats.add(beat);
  return beat;
}

export function stopHeartbeat(beat: Heartbeat | undefined, ka: KeepAlive | undefined): void {
  if (!beat || !ka) return;
  const group = groups.get(ka.ms);
  if (!group) return;
  group.beats.delete(beat);
  if (group.beats.size === 0) {
    clearInterval(group.timer);
    groups.delete(ka.ms);
  }
}
