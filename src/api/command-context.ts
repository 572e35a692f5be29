import type { CommandContext } from '../commands/handle-command.js';
import { commandIdFor } from '../domain/ids.js';
import type { Principal } from '../domain/access.js';
import { actorOf } from './auth/principal.js';
import type { Caller } from './route.js';
import type { AppServices } from './services.js';

/** Internal service calls act for no tenant of their own; their events carry this one. */
export const INTERNAL_TENANT = 'internal';

/**
 * The context of a user's command. Its id derives from the tenant, the user and the command key
 * (the Idempotency-Key bound to the route and its resource), so a retried request (even on another
 * instance, after a crash) is the same command and finds the events it wrote instead of writing
 * again, while the same key sent to another route or resource is another command.
 */
export function userCommandContext(
  services: Pick<AppServices, 'clock'>,
  principal: Principal,
  commandKey: string,
  correlationId: string,
): CommandContext {
  return {
    commandId: commandIdFor(principal.tenantId, principal.userId, commandKey),
    now: services.clock(),
    actor: actorOf(principal),
    tenantId: principal.tenantId,
    correlationId,
  };
}

/**
 * The context of a command that is safe to repeat by its nature (a PUT of a whole profile): a
 * fresh id, because a repeat decides nothing new rather than finding its earlier events.
 */
export function callerCommandContext(services: Pick<AppServices, 'clock' | 'newId'>, caller: Caller, correlationId: string): CommandContext {
  return {
    commandId: services.newId(),
    now: services.clock(),
    actor: caller.kind === 'user' ? actorOf(caller.principal) : `service:${caller.service}`,
    tenantId: caller.kind === 'user' ? caller.principal.tenantId : INTERNAL_TENANT,
    correlationId,
  };
}
