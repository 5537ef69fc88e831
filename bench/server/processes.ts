/**
 * What the server benchmarks read of the processes they start (S2, S3): CPU time and resident
 * memory, from /proc.
 */
import { readFileSync } from 'node:fs';

/** Resident set size of a process in MB, from /proc (NaN where there is none). */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (100 ticks a second). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
