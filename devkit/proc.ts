// Processes as Linux /proc shows them: resident memory (VmRSS now, VmHWM the peak since it started),
// CPU time, children (NGINX's workers), state, process group and command line. Every reader answers
// NaN / undefined / [] / false once the process is gone instead of throwing.
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
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
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
  const f = statFields(pid);
  // fields 14 and 15 of stat (utime, stime) are 12 and 13 after the ")"; clock ticks of 10 ms
  return f ? (Number(f[11]) + Number(f[12])) * 10 : NaN;
}

/** The fields of /proc/PID/stat after the command name: [state, ppid, pgrp, …] (undefined once gone). */
function statFields(pid: number): string[] | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** True while the process runs: a zombie (exited, waiting to be reaped) does not count. */
export function isRunning(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The running processes of a process group (what a terminal's Ctrl-C reaches). */
export function groupMembers(pgid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => Number(statFields(pid)?.[2]) === pgid && isRunning(pid));
}

/** The command line of a process, arguments joined by spaces ('' once it is gone). */
export function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
