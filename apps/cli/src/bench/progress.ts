import { Presets, SingleBar } from 'cli-progress';

export interface Bar {
  update(value: number, detail?: string): void;
  stop(): void;
}

const NO_BAR: Bar = { update: () => undefined, stop: () => undefined };

/** Phase lines and progress bars on stderr; silent with --json (stdout then carries one JSON document). */
export class Progress {
  constructor(private readonly enabled: boolean) {}

  line(text: string): void {
    if (this.enabled) process.stderr.write(`${text}\n`);
  }

  bar(label: string, total: number, unit: string): Bar {
    if (!this.enabled) return NO_BAR;
    const bar = new SingleBar(
      {
        format: `  ${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {detail}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        barsize: 30,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    return {
      update: (value, detail = '') => bar.update(Math.min(Math.round(value), total), { detail }),
      stop: () => bar.stop(),
    };
  }
}
