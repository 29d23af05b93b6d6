import { Module } from '@nestjs/common';
import {
  BenchApplierCommand,
  BenchCaptureCommand,
  BenchCommand,
  BenchVerifyCommand,
} from './commands/bench.command';
import {
  DlqAcceptCommand,
  DlqCommand,
  DlqListCommand,
  DlqRedriveCommand,
  DlqShowCommand,
} from './commands/dlq.command';
import { ReplayCommand } from './commands/replay.command';
import { RunCommand } from './commands/run.command';
import { SnapshotCommand } from './commands/snapshot.command';
import { StatusCommand } from './commands/status.command';
import { TeardownCommand } from './commands/teardown.command';
import { VerifyCommand } from './commands/verify.command';
import {
  StackCommand,
  StackDownCommand,
  StackFetchCommand,
  StackImagesCommand,
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
    StackImagesCommand,
    RunCommand,
    SnapshotCommand,
    StatusCommand,
    ReplayCommand,
    VerifyCommand,
    DlqCommand,
    DlqListCommand,
    DlqShowCommand,
    DlqAcceptCommand,
    DlqRedriveCommand,
    TeardownCommand,
    BenchCommand,
    BenchCaptureCommand,
    BenchApplierCommand,
    BenchVerifyCommand,
  ],
})
export class CliModule {}
