import type { EngineName } from './types';
export type StackErrorCode =
  | 'JAVA_MISSING'
  | 'MAVEN_MISSING'
  | 'REDIS_SERVER_MISSING'
  | 'ENGINE_EXITED'
  | 'ENGINE_TIMEOUT'
  | 'DOCKER_UNAVAILABLE'
  | 'FETCH_FAILED'
  | 'BAD_OPTION'
  | 'PORT_TAKEN'
  | 'IMAGE_TOOL_MISSING'
  | 'IMAGE_BUILD_FAILED';

/**
 * Every failure the stack can diagnose. The message always says what went wrong and how to fix it, because it
 * ends up verbatim in a CLI error or a failed global setup, where nobody reads a stack trace.
 */
export class StackError extends Error {
  override readonly name = 'StackError';

  constructor(
    readonly code: StackErrorCode,
    message: string,
    readonly engine?: EngineName,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const isStackError = (e: unknown): e is StackError => e instanceof StackError;

export const javaMissing = (detail: string): StackError =>
  new StackError(
    'JAVA_MISSING',
    `${detail}. Java 17+ is needed to run Kafka and DynamoDB Local. ` +
      'Install it: apt-get install -y openjdk-17-jre-headless (or set JAVA_HOME), or use engines: docker.',
  );

export const mavenMissing = (): StackError =>
  new StackError(
    'MAVEN_MISSING',
    'mvn was not found on PATH; Maven fetches the Kafka jars from Maven Central once (they are cached afterwards). ' +
      'Install it: apt-get install -y maven',
    'kafka',
  );

export const redisServerMissing = (): StackError =>
  new StackError(
    'REDIS_SERVER_MISSING',
    'redis-server was not found on PATH. Install it: apt-get install -y redis-server',
    'redis',
  );

export const dockerUnavailable = (detail: string): StackError =>
  new StackError(
    'DOCKER_UNAVAILABLE',
    `no Docker engine answers (${detail}); use the native engines (default) or start Docker`,
  );
