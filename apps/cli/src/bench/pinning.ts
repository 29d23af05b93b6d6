import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';

/**
 * `--pin-primary`: the primary Redis alone on CPU 0, every other process of the bench (the replica, Kafka,
 * DynamoDB Local, capture, the writer) on the other CPUs, so the primary's CPU per write measures its own work
 * and not the contention of a shared box (Linux `taskset`, all threads of each process).
 */
export class CpuPinning {
  private readonly others: string;

  constructor() {
    const n = cpus().length;
    if (n < 2) throw new Error('--pin-primary needs at least 2 CPUs (one for the primary, one for the rest)');
    this.others = n === 2 ? '1' : `1-${n - 1}`;
  }

  primary(pid: number | undefined): void {
    if (pid !== undefined) taskset('0', pid);
  }

  rest(pid: number | undefined): void {
    if (pid !== undefined) taskset(this.others, pid);
  }
}

function taskset(cpuList: string, pid: number): void {
  try {
    execFileSync('taskset', ['-a', '-cp', cpuList, String(pid)], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(
      `taskset -a -cp ${cpuList} ${pid} failed (${(err as Error).message}): is util-linux installed?`,
    );
  }
}
