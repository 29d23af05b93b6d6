import { KAFKA_VERSION } from '../engines/kafka';
import type { CoreEngineName } from '../types';

/**
 * The images `cdc stack images` (npm run images) builds where no registry can be reached: a Debian bookworm base
 * from the machine's apt mirror (debootstrap + docker import), Node and a JRE on it, the three engines on those,
 * and the three apps from the root Dockerfile with BASE_IMAGE pointing at the local Node image.
 * docker-compose.host.yml and test/setup/containers.ts use these tags.
 */
export const LOCAL_IMAGES = {
  base: 'cdc-local/debian:bookworm',
  node: 'cdc-local/node:20',
  jre: 'cdc-local/jre:17',
  redis: 'cdc-local/redis:7',
  kafka: `cdc-local/kafka:${KAFKA_VERSION}`,
  dynamodb: 'cdc-local/dynamodb-local:3',
} as const;

/** The public images docker-compose.yml uses, for machines that can pull. */
export const PUBLIC_ENGINE_IMAGES: Record<CoreEngineName, string> = {
  redis: 'redis:7',
  kafka: `apache/kafka:${KAFKA_VERSION}`,
  dynamodb: 'amazon/dynamodb-local',
};

export const LOCAL_ENGINE_IMAGES: Record<CoreEngineName, string> = {
  redis: LOCAL_IMAGES.redis,
  kafka: LOCAL_IMAGES.kafka,
  dynamodb: LOCAL_IMAGES.dynamodb,
};

/** Node in the local Node image: the runtime this project supports (package.json engines). */
export const NODE_VERSION = '20.20.2';
/** npm for the build stage of the apps' Dockerfile (npm ci, npm run build, npm prune). */
export const NPM_VERSION = '10.9.4';

export const APPS = ['capture', 'applier', 'verifier'] as const;
export type AppName = (typeof APPS)[number];
/** The tags docker-compose.yml gives the app images, so compose finds them instead of building. */
export const appImage = (app: AppName): string => `cdc-replicator/${app}:local`;
/**
 * The Dockerfile's build stage under a tag of its own. Untagged, its layers are left dangling after the app
 * builds (no tagged image descends from them), the prune of old images drops them, and the next run reinstalls
 * and rebuilds everything even when nothing changed.
 */
export const BUILD_STAGE_IMAGE = 'cdc-replicator/build-stage:local';

/** Every image built here carries these labels: the inputs' hash (reuse) and a marker (pruning, cleanup). */
export const INPUTS_LABEL = 'org.cdc.inputs';
export const MANAGED_LABEL = 'org.cdc.managed';

export type ImageGroup = 'engines' | 'apps';
