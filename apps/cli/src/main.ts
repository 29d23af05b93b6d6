import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module';

async function main(): Promise<void> {
  await CommandFactory.run(CliModule, {
    logger: false,
    errorHandler: (err) => {
      // commander's own help/version "errors" exit 0; anything else is a usage error.
      const code = (err as { exitCode?: number }).exitCode ?? 64;
      if (code !== 0) process.stderr.write(`cdc: ${err.message}\n`);
      process.exit(code);
    },
  });
}

void main().catch((err: unknown) => {
  process.stderr.write(`cdc: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
