// Summarises a `bun --cpu-prof` profile (Chrome .cpuprofile JSON): the top frames by self samples,
// and lmrelay's own functions by inclusive samples. Samples are counted rather than weighted by
// their time deltas: a delta spans whatever the sampler missed (idle time, a starved sampler
// thread), which would pin that time on an arbitrary frame.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface FrameShare {
  frame: string;
  samples: number;
  percent: number;
  /** The nearest lmrelay (`src/`) functions on the stacks of these samples, most frequent first. */
  from?: string[];
}

export interface ProfileSummary {
  samples: number;
  /** Samples in neither JS nor native work: the process waiting for I/O. */
  idlePercent: number;
  self: FrameShare[];
  /** lmrelay's own functions (`src/`), by samples inside them or their callees. */
  inclusive: FrameShare[];
}

const IDLE = new Set(["(idle)", "(program)", "(garbage collector)"]);

function label(f: CallFrame, root: string): string {
  const name = f.functionName || "(anonymous)";
  const url = f.url.replace(/^file:\/\//, "");
  if (!url) return name;
  let where = url.startsWith(root) ? url.slice(root.length + 1) : url;
  where = where.replace(/^.*node_modules\//, "");
  return `${name} ${where}${f.lineNumber >= 0 ? `:${f.lineNumber + 1}` : ""}`;
}

export function summariseProfile(profile: CpuProfile, root: string, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const from = new Map<string, Map<string, number>>();
  let idle = 0;
  let counted = 0;
  for (const id of profile.samples) {
    const node = byId.get(id);
    if (!node) continue;
    if (IDLE.has(node.callFrame.functionName) || node.callFrame.functionName === "(root)") {
      idle++;
      continue;
    }
    counted++;
    const own = label(node.callFrame, root);
    self.set(own, (self.get(own) ?? 0) + 1);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url.replace(/^file:\/\//, "").startsWith(`${root}/src/`)) continue;
      const key = label(f, root);
      if (seen.size === 0 && key !== own) {
        const m = from.get(own) ?? new Map<string, number>();
        m.set(key, (m.get(key) ?? 0) + 1);
        from.set(own, m);
      }
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  }
  const rank = (m: Map<string, number>, withCallers: boolean): FrameShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, samples]) => {
        const share: FrameShare = { frame, samples, percent: counted ? (100 * samples) / counted : 0 };
        const callers = from.get(frame);
        if (withCallers && callers)
          share.from = [...callers.entries()]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 3)
            .map(([k, n]) => `${k} (${Math.round((100 * n) / samples)}%)`);
        return share;
      });
  const total = counted + idle;
  return { samples: counted, idlePercent: total ? (100 * idle) / total : 0, self: rank(self, true), inclusive: rank(inclusive, false) };
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const rows = (list: FrameShare[]) =>
    list.map((f) => `  ${f.percent.toFixed(1).padStart(5)}%  ${String(f.samples).padStart(6)}  ${f.frame}${f.from ? `  ← ${f.from.join(", ")}` : ""}`).join("\n");
  return [
    `${title}: ${s.samples} busy samples (${s.idlePercent.toFixed(0)}% of samples idle)`,
    "  top frames by self samples:",
    rows(s.self),
    "  lmrelay functions by inclusive samples:",
    rows(s.inclusive),
  ].join("\n");
}
