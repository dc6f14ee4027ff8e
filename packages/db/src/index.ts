export * from './schema.ts';
export { checkDatabase, createDatabase, type Database, type DatabaseOptions, type Db, type Sql } from './client.ts';
export { MIGRATIONS_FOLDER, runMigrations } from './migrate.ts';
export { newExecutionId, newId, randomId, type IdPrefix } from './ids.ts';
export { resolveDatabase, type ResolvedDatabase } from './resolve.ts';
