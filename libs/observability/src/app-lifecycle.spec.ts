import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { closeWithin } from './app-lifecycle';
import { EXIT_CODES } from './startup';

@Injectable()
class Hanging implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return new Promise(() => undefined); // an engine that never answers
  }
}

@Injectable()
class Quick implements OnApplicationShutdown {
  stopped = false;
  onApplicationShutdown(): void {
    this.stopped = true;
  }
}

@Module({ providers: [Quick] })
class QuickModule {}

@Module({ imports: [QuickModule], providers: [Hanging] })
class HangingModule {}

const capture = () => {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l)) });
  return { lines, log };
};

describe('closeWithin', () => {
  it('exits 0 when every hook finished', async () => {
    const app = await NestFactory.create(QuickModule, { logger: false });
    await app.init();
    const { log } = capture();
    expect(await closeWithin(app, log, 5_000)).toBe(0);
    expect(app.get(Quick).stopped).toBe(true);
  });

  it('past the deadline: names the hook still running and returns 75', async () => {
    const app = await NestFactory.create(HangingModule, { logger: false });
    await app.init();
    const { lines, log } = capture();
    const t0 = Date.now();
    expect(await closeWithin(app, log, 300)).toBe(EXIT_CODES.shutdownDeadline);
    expect(Date.now() - t0).toBeLessThan(2_000);
    const line = lines.find((l) => Array.isArray(l.waitingFor));
    expect(line?.waitingFor).toEqual(['Hanging.onApplicationShutdown']);
    expect(line?.msg).toContain('still waiting for Hanging.onApplicationShutdown; exiting 75');
  });
});
