// What a process costs, read from Linux /proc: resident memory (VmRSS now, VmHWM the peak since it
// started), CPU time, and its children (NGINX's workers). Every reader answers NaN / undefined / []
// once the process is gone instead of throwing.
import fs from 'node:fs';

/** Resident set size in bytes (NaN once the process is gone). */
export function rssOf(pid: number): number {
  return (memoryOf(pid)?.rssMb ?? NaN) * 1024 * 1024;
}

/** VmRSS and VmHWM of a process in MB (undefined once it is gone). */
export function memoryOf(pid: number): { rssMb: number; hwmMb: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** The children of a process (NGINX's workers), from /proc. */
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Samples the RSS of `pids` every `everyMs` until stopped; returns the peak VmRSS (MB) per pid seen. */
export function sampleRss(pids: number[], everyMs = 200): () => Record<number, number> {
  const peak: Record<number, number> = {};
  const take = () => {
    for (const pid of pids) {
      const m = memoryOf(pid);
      if (m && !(m.rssMb <= (peak[pid] ?? 0))) peak[pid] = m.rssMb;
    }
  };
  take();
  const t = setInterval(take, everyMs);
  return () => {
    clearInterval(t);
    take();
    return peak;
  };
}

/** User + system CPU time of a process so far (ms, 10 ms resolution), from /proc/PID/stat. */
export function cpuMsOf(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the ")"; clock ticks of 10 ms
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}
