/** Public surface of the normalizer: pure entry -> ECS mapping, the action catalog and offline enrichers. */
export { toEcs, ECS_VERSION, actionTimestamp, validIp } from './to-ecs.js';
export { categorize, catalogActions, ACTION_TABLE, type Categorization, type EcsCategory, type EcsType, type EcsOutcome } from './action-catalog.js';
export type { EcsDocument, EcsEvent, NormalizeContext, NormalizeResult, GeoInfo, AsnInfo, UaInfo } from './types.js';
