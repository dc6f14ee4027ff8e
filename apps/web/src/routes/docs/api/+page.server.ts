import { openApiDocument } from '@strata/api';

interface Operation {
  method: string;
  path: string;
  operationId: string;
  public: boolean;
  parameters: { name: string; in: string; required: boolean }[];
  requestBody: unknown;
  responses: { status: string; description: string; schema: unknown }[];
}

/** The OpenAPI document, flattened into what the page lists. */
export function load() {
  const doc = openApiDocument() as { info: { title: string; description: string; version: string }; paths: Record<string, Record<string, Record<string, unknown>>> };
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const responses = Object.entries((op.responses ?? {}) as Record<string, { description: string; content?: { 'application/json'?: { schema?: unknown } } }>).map(([status, r]) => ({
        status,
        description: r.description,
        schema: r.content?.['application/json']?.schema ?? null,
      }));
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: String(op.operationId ?? ''),
        public: Array.isArray(op.security) && op.security.length === 0,
        parameters: (op.parameters as Operation['parameters']) ?? [],
        requestBody: (op.requestBody as { content?: { 'application/json'?: { schema?: unknown } } } | undefined)?.content?.['application/json']?.schema ?? null,
        responses,
      });
    }
  }
  return { info: doc.info, operations };
}
