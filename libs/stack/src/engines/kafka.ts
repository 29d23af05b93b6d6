import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StackError, mavenMissing } from '../errors';
import { isAlive, resolveExecutable, runToExit, spawnDetached, stackMarker, tailFile } from '../process';
import { ensureDir, freshLog, type LaunchContext, type Launched } from './common';

// 3.9.x: kafkajs 2.2.4 speaks protocol versions that Kafka 4.0 removed.
export const KAFKA_VERSION = '3.9.1';
const KAFKA_JAR = `kafka_2.13-${KAFKA_VERSION}.jar`;

/** The broker's POM does not pull a logging binding: without slf4j-reload4j + reload4j there is no log at all. */
export function renderPom(): string {
  const dep = (g: string, a: string, v: string): string =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdc.stack</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', KAFKA_VERSION)}
${dep('org.slf4j', 'slf4j-reload4j', '1.7.36')}
${dep('ch.qos.reload4j', 'reload4j', '1.2.25')}
  </dependencies>
</project>
`;
}

const isComplete = (libs: string): boolean =>
  existsSync(join(libs, KAFKA_JAR)) && readdirSync(libs).some((f) => f.startsWith('slf4j-reload4j'));

/** Removes fetch dirs left by killed fetches (their pid is in the name). */
function sweepAbandonedFetches(root: string): void {
  for (const d of readdirSync(root)) {
    const m = /^\.fetch-(\d+)-/.exec(d);
    if (m && !isAlive(Number(m[1]))) rmSync(join(root, d), { recursive: true, force: true });
  }
}

/**
 * Kafka's runtime classpath in <cacheDir>/kafka-3.9.1/libs, fetched once from Maven Central with a generated
 * pom. Fetched into a temp dir and renamed into place, so a killed fetch never leaves a half cache and two
 * concurrent fetches both end with one complete dir. Returns the libs dir.
 */
export async function ensureKafkaJars(
  cacheDir: string,
  log: (line: string) => void = () => undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const root = join(resolve(cacheDir), `kafka-${KAFKA_VERSION}`);
  const libs = join(root, 'libs');
  if (existsSync(libs) && isComplete(libs)) return libs;
  const mvn = resolveExecutable('mvn', env);
  if (!mvn) throw mavenMissing();
  mkdirSync(root, { recursive: true });
  sweepAbandonedFetches(root);
  const tmp = join(root, `.fetch-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(tmp);
  const pom = join(tmp, 'pom.xml');
  const fetchLog = join(tmp, 'fetch.log');
  writeFileSync(pom, renderPom());
  log(`kafka: fetching jars from Maven Central (once)…`);
  const t0 = Date.now();
  try {
    // Fully-qualified plugin: Maven 3.8's default dependency plugin is too old for these options.
    const goal = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies';
    const args = [
      '-B',
      '-q',
      '-f',
      pom,
      goal,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${join(tmp, 'libs')}`,
    ];
    const res = await runToExit(mvn, args, { cwd: tmp, env, timeoutMs: 15 * 60_000, logFile: fetchLog });
    if (res.code !== 0 || !isComplete(join(tmp, 'libs'))) {
      const why = res.timedOut ? 'timed out after 15 min' : `mvn exited with ${res.code ?? res.signal}`;
      throw new StackError(
        'FETCH_FAILED',
        `kafka: fetching the Kafka ${KAFKA_VERSION} jars failed (${why}). Maven needs to reach Maven Central ` +
          `(or a mirror in ~/.m2/settings.xml); check the network/proxy and retry. Last lines of the Maven output:\n` +
          tailFile(fetchLog, 40),
        'kafka',
      );
    }
    try {
      renameSync(join(tmp, 'libs'), libs);
    } catch (e) {
      if (!isComplete(libs)) throw e; // otherwise a concurrent fetch won the race: use its copy
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`kafka: ${readdirSync(libs).length} jars cached in ${libs} (${Date.now() - t0} ms)`);
  return libs;
}

/** Kafka's Uuid format: 16 random bytes, base64url, no padding (22 chars); never starting with '-' (CLI args). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const escapeValue = (v: string): string => v.replace(/\\/g, '\\\\');

/** Single-node KRaft (broker + controller in one JVM), tuned for a small machine and explicit topics. */
export function renderServerProperties(p: {
  brokerPort: number;
  controllerPort: number;
  logDir: string;
}): string {
  const props: Array<[string, string | number | boolean]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${p.controllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${p.brokerPort},CONTROLLER://127.0.0.1:${p.controllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${p.brokerPort}`], // no CONTROLLER here
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT'],
    ['log.dirs', escapeValue(p.logDir)],
    ['num.partitions', 6],
    ['auto.create.topics.enable', false], // topics are created explicitly, with the intended partition count
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 1], // 50 by default: slow first consumer-group join
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 1],
    ['group.initial.rebalance.delay.ms', 0], // tests join groups all the time; the 3 s default is pure waiting
    ['log.cleaner.dedupe.buffer.size', 2097152], // the default allocates 128 MiB on a 512 MiB heap
  ];
  return props.map(([k, v]) => `${k}=${String(v)}`).join('\n') + '\n';
}

// Console appender: stdout is the engine's log file, so broker logs and JVM errors end up in one place.
export const LOG4J_PROPERTIES = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
`;

export function kafkaJvmArgs(p: {
  fastStart: boolean;
  stateDir: string;
  log4j: string;
  libs: string;
}): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    '-XX:+UseSerialGC',
    ...(p.fastStart ? ['-XX:TieredStopAtLevel=1'] : []),
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${p.log4j}`,
    stackMarker(p.stateDir),
    '-cp',
    join(p.libs, '*'),
  ];
}

/** `StorageTool format` in a short-lived JVM (C1 only, always), output into the engine's log. */
async function formatStorage(
  ctx: LaunchContext,
  java: string,
  libs: string,
  p: { dir: string; props: string; log4j: string; logFile: string },
): Promise<void> {
  const t0 = Date.now();
  const toolJvm = kafkaJvmArgs({ fastStart: true, stateDir: ctx.stateDir, log4j: p.log4j, libs });
  const format = [
    'kafka.tools.StorageTool',
    'format',
    '-t',
    newClusterId(),
    '-c',
    p.props,
    '--ignore-formatted',
  ];
  const res = await runToExit(java, [...toolJvm, ...format], {
    cwd: p.dir,
    env: ctx.env,
    timeoutMs: 60_000,
    logFile: p.logFile,
  });
  if (res.code !== 0) {
    throw new StackError(
      'ENGINE_EXITED',
      `kafka: formatting the storage failed (exit ${res.code ?? res.signal}). Last lines of ${p.logFile}:\n` +
        `${tailFile(p.logFile, 40)}\nIf the jar cache is damaged, delete ${libs} and retry.`,
      'kafka',
    );
  }
  ctx.log(`kafka: storage formatted in ${Date.now() - t0} ms`);
}

/**
 * Formats the storage unless it already is (a restart of a stack's dead Kafka keeps its log dirs, so its
 * topics, messages and offsets), and starts the broker.
 */
export async function launchKafka(
  ctx: LaunchContext,
  java: string,
  libs: string,
  ports: { brokerPort: number; controllerPort: number },
): Promise<Launched> {
  const dir = ensureDir(join(ctx.stateDir, 'kafka'));
  const logDir = ensureDir(join(dir, 'data'));
  const props = join(dir, 'server.properties');
  const log4j = join(dir, 'log4j.properties');
  writeFileSync(props, renderServerProperties({ ...ports, logDir }));
  writeFileSync(log4j, LOG4J_PROPERTIES);
  const logFile = freshLog(join(ctx.stateDir, 'kafka.log'));
  const since = Date.now();
  if (!existsSync(join(logDir, 'meta.properties')))
    await formatStorage(ctx, java, libs, { dir, props, log4j, logFile });
  const jvm = kafkaJvmArgs({ fastStart: ctx.fastStart, stateDir: ctx.stateDir, log4j, libs });
  const spawned = spawnDetached(java, [...jvm, 'kafka.Kafka', props], { cwd: dir, env: ctx.env, logFile });
  return {
    name: 'kafka',
    port: ports.brokerPort,
    endpoint: `127.0.0.1:${ports.brokerPort}`,
    logFile,
    spawned,
    since,
  };
}
