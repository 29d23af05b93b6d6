// @cdc/stack: starts, reuses, reports and stops the local engines (redis-server, Kafka KRaft, DynamoDB Local)
// for the `cdc stack` CLI and the test suites' global setup. Plain library: no Nest, no other @cdc/* imports.
export type {
  EngineName,
  RedisTopology,
  EngineMode,
  EngineStatus,
  StackEndpoints,
  StackOptions,
  StackUpResult,
} from './types';
export { stackUp, stackDown, stackStatus } from './stack';
export { ensureKafkaJars, KAFKA_VERSION } from './engines/kafka';
export { StackError, isStackError, type StackErrorCode } from './errors';
export { LOCAL_DYNAMO_CREDENTIALS } from './probes';
export { freePort } from './ports';
export { exited, killOnExit } from './process';
export { findDynamoDbLocal, dynamoArgs, type DynamoDbLocalDist } from './engines/dynamodb';
export { resolveJava } from './engines/java';
export { probeDynamo } from './probes';
export { startPrivateDynamo, type PrivateDynamo, type PrivateDynamoOptions } from './private-dynamo';
export { buildImages, findRepoRoot, type ImageResult, type ImagesOptions } from './images/build-images';
export {
  APPS as IMAGE_APPS,
  appImage,
  LOCAL_ENGINE_IMAGES,
  LOCAL_IMAGES,
  PUBLIC_ENGINE_IMAGES,
  type ImageGroup,
} from './images/catalog';
export {
  hostNetworkEngines,
  KAFKA_SINGLE_NODE_ENV,
  type HostContainerSpec,
  type HostEnginePorts,
} from './engine-containers';
