import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { TesseraError, type ErrorCode, type FieldError } from '../errors.js';
import { DuplicateEventIdError, WrongExpectedVersionError } from '../eventstore/errors.js';
import type { ErrorBody } from './schemas.js';

/**
 * The one place an error becomes a response: a TesseraError keeps its code and status; fastify's
 * own errors (bad JSON, wrong media type, body too large, schema validation) map to the seed's
 * codes; anything else is a 5xx whose body says nothing about the cause, which is logged with the
 * request id instead.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const problem = toTesseraError(error);
    if (problem.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ code: problem.code, status: problem.status }, problem.message);
    }
    return sendError(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new TesseraError('NOT_FOUND', `Route ${request.method} ${pathOf(request)} not found`)),
  );
}

/**
 * Fastify's errors raised before a route is found (a URL that is not valid percent-encoded
 * UTF-8, a path segment longer than the router takes): no hook has run, so the request id is
 * set here.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('x-request-id', request.id);
  const problem = toTesseraError(error);
  request.log.info({ code: problem.code, status: problem.status }, problem.message);
  void sendError(request, reply, problem);
}

export function sendError(request: FastifyRequest, reply: FastifyReply, problem: TesseraError): FastifyReply {
  if (problem.code === 'DUPLICATE_IN_PROGRESS') void reply.header('retry-after', '1');
  return reply.code(problem.status).type('application/json; charset=utf-8').send(errorBodyOf(request, problem));
}

export function errorBodyOf(request: FastifyRequest, problem: TesseraError): ErrorBody {
  return {
    error: problem.message,
    code: problem.code,
    timestamp: new Date().toISOString(),
    path: pathOf(request),
    ...(problem.details.errors ? { errors: [...problem.details.errors] } : {}),
    ...(problem.details.expose ? { details: { ...problem.details.expose } } : {}),
  };
}

/** Fastify's request-shape errors, by code, and the seed code each becomes. */
const FASTIFY_ERRORS: Readonly<Record<string, { code: ErrorCode; message: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'MALFORMED_REQUEST', message: 'Body is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'MALFORMED_REQUEST', message: 'Body is empty but Content-Type is application/json' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'MALFORMED_REQUEST', message: 'Body size does not match Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' },
  FST_ERR_CTP_INVALID_TYPE: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' },
  FST_ERR_BAD_URL: { code: 'MALFORMED_REQUEST', message: 'The URL is not valid percent-encoded UTF-8' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'MALFORMED_REQUEST', message: 'A path segment is longer than the API takes' },
};

const CLIENT_ERRORS_BY_STATUS: Readonly<Record<number, { code: ErrorCode; message: string }>> = {
  404: { code: 'NOT_FOUND', message: 'Not found' },
  405: { code: 'METHOD_NOT_ALLOWED', message: 'Method not allowed' },
  413: { code: 'PAYLOAD_TOO_LARGE', message: 'Request body is too large' },
  415: { code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Content-Type must be application/json' },
  429: { code: 'RATE_LIMIT_EXCEEDED', message: 'Too many requests' },
};

export function toTesseraError(error: unknown): TesseraError {
  if (error instanceof TesseraError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? 'body';
    return new TesseraError('VALIDATION_ERROR', 'Validation failed', {
      errors: error.validation.map((issue) => ({ field: fieldOf(context, issue.instancePath), message: issue.message ?? 'is invalid' })),
    });
  }
  if (error instanceof WrongExpectedVersionError) {
    return new TesseraError('CONCURRENCY_CONFLICT', 'The resource changed meanwhile; retry the request');
  }
  // A command's event ids derive from its key: ids stored in another stream mean the key was
  // used for another command (a body naming another resource, after the first answer expired).
  if (error instanceof DuplicateEventIdError) {
    return new TesseraError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for another request; send a new one');
  }
  const { code, statusCode } = (error ?? {}) as Partial<FastifyError>;
  const known = code ? FASTIFY_ERRORS[code] : undefined;
  if (known) return new TesseraError(known.code, known.message);
  if (code === 'FST_ERR_VALIDATION') return new TesseraError('VALIDATION_ERROR', 'Validation failed');
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    // Any other client error fastify raises (rare: malformed URLs and headers).
    const byStatus = CLIENT_ERRORS_BY_STATUS[statusCode] ?? { code: 'MALFORMED_REQUEST', message: 'Malformed request' };
    return new TesseraError(byStatus.code, byStatus.message);
  }
  return new TesseraError('INTERNAL_ERROR', 'Internal server error');
}

/** `tickets.0.quantity` for the body (as the seed shows), `params.id` and `query.limit` elsewhere. */
function fieldOf(context: string, instancePath: string): FieldError['field'] {
  const path = instancePath.split('/').filter((part) => part !== '').join('.');
  const prefix = context === 'querystring' ? 'query' : context;
  if (context === 'body') return path === '' ? 'body' : path;
  return path === '' ? prefix : `${prefix}.${path}`;
}

const pathOf = (request: FastifyRequest): string => {
  const query = request.url.indexOf('?');
  return query === -1 ? request.url : request.url.slice(0, query);
};
