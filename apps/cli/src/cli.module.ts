import { Module } from '@nestjs/common';
import { RunCommand } from './commands/run.command';
import {
  StackCommand,
  StackDownCommand,
  StackFetchCommand,
  StackStatusCommand,
  StackUpCommand,
} from './commands/stack.command';

@Module({
  providers: [
    StackCommand,
    StackUpCommand,
    StackDownCommand,
    StackStatusCommand,
    StackFetchCommand,
    RunCommand,
  ],
})
export class CliModule {}
