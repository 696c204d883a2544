export { buildApp, type BuildAppOptions } from './app.ts';
export { startApiServer, type ApiServer, type ApiServerOptions } from './server.ts';
export { parseOrThrow, assertStorable, jsonSchema, emptyBody, emptyQuery, type RequestPart } from './validation.ts';
export { requireRole, tenantOf } from './auth.ts';
export { BadRequestError, ForbiddenError, NotReadyError, PayloadTooLargeError, RateLimitedError, UnauthorizedError, toErrorResponse } from './errors.ts';
export { apiKeyRoles, createApiKey, ensureBootstrapKey, generateApiKey, hashApiKey, listApiKeys, revokeApiKey, tenantNamePattern, type ApiKeyRole, type CreatedKey, type KeyListing } from './keys.ts';
export { taskView, type TaskView, type EventView } from './schemas.ts';
