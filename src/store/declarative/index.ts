/** Declarative configuration (`kong.yml`): load and export. */
export {
  parseDeclarative,
  loadDeclarative,
  configHash,
  EMPTY_CONFIG_HASH,
  FORMAT_VERSIONS,
  type DeclarativeConfig,
  type DeclarativeResult,
  type DeclarativeOk,
  type DeclarativeError,
} from './parse.ts';
export { exportDeclarative, exportDeclarativeYaml, type DeclarativeDocument } from './export.ts';
export { flattenErrors, declarativeErrorBody, flattenedErrorBody, type FlattenedEntityError, type ErrTree } from './errors.ts';
export { entityUuid, uuidV5 } from './uuid.ts';
export { RELATIONS, ENDPOINT_KEYS, ENTITY_ORDER, SINGULAR, type Relation } from './relations.ts';
