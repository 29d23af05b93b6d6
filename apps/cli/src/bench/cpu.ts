import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc (USER_HZ): 100 on every Linux this runs on. */
const CLK_TCK = 100;

/** utime + stime (ticks, all threads) from the text of /proc/<pid>/stat; undefined if unparseable. */
export function procStatTicks(stat: string): number | undefined {
  // "pid (comm) state ppid ...": comm may contain spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

/** Busy and total ticks of the whole machine from the first line of /proc/stat (iowait counts as idle). */
export function machineTicks(procStat: string): { busy: number; total: number } | undefined {
  const line = procStat.split('\n', 1)[0] ?? '';
  if (!line.startsWith('cpu ')) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal; guest is already inside user
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

function readTicks(pid: number): number | undefined {
  try {
    return procStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

function readMachine(): { busy: number; total: number } | undefined {
  try {
    return machineTicks(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** CPU used per process over a window, in cores (1.0 = one core busy the whole window). */
export type CpuShares = Record<string, number>;

/**
 * Samples the CPU time of named processes (and of this process, as `bench`, of the machine, as `box`, and of
 * everything else, as `other`)
 * at start() and stop(). Linux only: elsewhere it reports nothing.
 */
export class CpuMeter {
  private startTicks = new Map<string, number>();
  private startSelf = process.cpuUsage();
  private startMachine = readMachine();
  private startAt = performance.now();

  constructor(private readonly pids: Readonly<Record<string, number | undefined>>) {
    this.start();
  }

  start(): void {
    this.startTicks = new Map();
    for (const [name, pid] of Object.entries(this.pids)) {
      const t = pid === undefined ? undefined : readTicks(pid);
      if (t !== undefined) this.startTicks.set(name, t);
    }
    this.startSelf = process.cpuUsage();
    this.startMachine = readMachine();
    this.startAt = performance.now();
  }

  stop(): CpuShares {
    const seconds = (performance.now() - this.startAt) / 1000;
    if (seconds <= 0) return {};
    const out: CpuShares = {};
    const self = process.cpuUsage(this.startSelf);
    out.bench = round((self.user + self.system) / 1e6 / seconds);
    for (const [name, before] of this.startTicks) {
      const pid = this.pids[name];
      const after = pid === undefined ? undefined : readTicks(pid);
      if (after !== undefined) out[name] = round((after - before) / CLK_TCK / seconds);
    }
    const m = readMachine();
    if (m && this.startMachine) {
      const total = m.total - this.startMachine.total;
      const cores = total / CLK_TCK / seconds; // ≈ the number of CPUs
      if (total > 0) {
        const box = ((m.busy - this.startMachine.busy) / total) * cores;
        const ours = Object.values(out).reduce((a, b) => a + b, 0);
        out.box = round(box);
        out.other = round(Math.max(0, box - ours)); // everything else on the machine (other users' work)
      }
    }
    return out;
  }
}

// Four decimals: per-write CPU is derived from these, and 0.01 cores is 1 µs per write at 10k writes/s.
const round = (n: number): number => Math.round(n * 10_000) / 10_000;
