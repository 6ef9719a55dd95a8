// The official tRPC client, untyped (the router lives in C++), pointed at a running nyxgate.
import assert from 'node:assert/strict';
import {
  createTRPCUntypedClient,
  httpBatchLink,
  httpLink,
  httpSubscriptionLink,
  isTRPCClientError,
  splitLink,
} from '@trpc/client';
import { EventSource } from 'eventsource';

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A client over `httpLink` (one request per call) or, with `batch: true`, `httpBatchLink`.
 * `token` null sends no Authorization header. `fetch` lets a test watch the requests.
 */
export function trpcClient(baseUrl, token, { batch = false, fetch } = {}) {
  const link = batch ? httpBatchLink : httpLink;
  return createTRPCUntypedClient({
    links: [
      link({
        url: `${baseUrl}/trpc`,
        headers: () => (token ? { authorization: `Bearer ${token}` } : {}),
        ...(fetch ? { fetch } : {}),
      }),
    ],
  });
}

/**
 * A client whose subscriptions go over `httpSubscriptionLink` (Server-Sent Events through the
 * `eventsource` package, which lets the token ride in the Authorization header) and whose
 * queries and mutations over `httpLink`.
 */
export function trpcSubscriptionClient(baseUrl, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return createTRPCUntypedClient({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({
          url: `${baseUrl}/trpc`,
          EventSource,
          eventSourceOptions: () => ({
            fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
          }),
        }),
        false: httpLink({ url: `${baseUrl}/trpc`, headers: () => headers }),
      }),
    ],
  });
}

/**
 * Asserts that `promise` rejects with a TRPCClientError whose data.code is `code` and whose
 * data.httpStatus is `httpStatus`; `message` (a RegExp) must match the error message.
 * Returns the error.
 */
/**
 * Adds a member through members.add and redeems the invite as they would; returns
 * {token, userId}.
 */
export async function addMember(baseUrl, owner, { email, name, role = 'member' }) {
  const added = await owner.mutation('members.add', { email, name, role });
  const redeemed = await trpcClient(baseUrl, null).mutation('invites.redeem', { code: added.invite.code, name });
  return { token: redeemed.token, userId: added.userId };
}

export async function rejectsWith(promise, code, httpStatus, message) {
  let caught;
  await assert.rejects(promise, (err) => {
    caught = err;
    return true;
  });
  assert.ok(isTRPCClientError(caught), `expected a TRPCClientError, got ${caught}`);
  assert.equal(caught.data?.code, code, `error code (message: ${caught.message})`);
  assert.equal(caught.data?.httpStatus, httpStatus, `httpStatus of ${code}`);
  if (message) assert.match(caught.message, message);
  return caught;
}
