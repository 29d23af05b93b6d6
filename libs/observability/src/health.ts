import { Injectable } from '@nestjs/common';

export interface ComponentHealth {
  readonly up: boolean;
  readonly detail?: Record<string, unknown>;
}

/** Components register a probe; /health reports them all. Keeps the HTTP layer ignorant of the pipeline. */
@Injectable()
export class HealthRegistry {
  private readonly probes = new Map<string, () => ComponentHealth | Promise<ComponentHealth>>();

  register(name: string, probe: () => ComponentHealth | Promise<ComponentHealth>): void {
    this.probes.set(name, probe);
  }

  entries(): Array<[string, () => ComponentHealth | Promise<ComponentHealth>]> {
    return [...this.probes.entries()];
  }
}
