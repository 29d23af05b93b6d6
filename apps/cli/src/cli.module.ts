import { Module } from '@nestjs/common';
import { RunCommand } from './commands/run.command';
import { StackCommand, StackDownCommand, StackStatusCommand, StackUpCommand } from './commands/stack.command';

@Module({ providers: [StackCommand, StackUpCommand, StackDownCommand, StackStatusCommand, RunCommand] })
export class CliModule {}
