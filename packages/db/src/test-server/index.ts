export { guardFolder, removeAbandonedDataDirs } from './folder.ts';
export { DATA_DIR_PREFIX } from './guardian-order.ts';
export { runWithTestServer } from './run.ts';
export { DEFAULT_TEST_SERVER_URL, startTestServer, type TestServer } from './server.ts';
export { dropOrphanedDatabases, dropRunDatabases, processAlive } from './sweep.ts';
export { currentTag, listTestDatabases, parseTag, TEST_DATABASE_PREFIX, type DatabaseTag } from './tags.ts';
