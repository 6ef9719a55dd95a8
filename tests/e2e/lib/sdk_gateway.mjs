// A running `nyxgate serve` whose providers all point at the HTTPS mock, with one tenant per
// provider: tenant `sdk-<provider>` has one good key of that provider and that provider as
// its primary, so model "auto" of its token is served by it. The key says "cached", so the
// mock reports cache reads and reasoning tokens in its usage. For the SDK end-to-end suites,
// which run every case through each provider's wire format.
import { after, before } from 'node:test';

import { fingerprint, providerFlags, startMockProviders } from './mock_providers.mjs';
import { leakedSecrets, seedTenant, startServer, tail } from './server.mjs';
import { trpcClient } from './trpc.mjs';

export const PROVIDERS = ['openai', 'anthropic', 'google', 'kimi'];

const suffix = () => Math.random().toString(36).slice(2, 12);

/**
 * Starts the mock and the server and seeds the tenants. Returns {mock, srv, tenants, secrets,
 * tenant(), addKey(), stop()}: tenants[provider] = {slug, token, owner (tRPC client), key}.
 */
export async function startSdkGateway({ mockOptions = {}, extraFlags = [] } = {}) {
  const mock = await startMockProviders(mockOptions);
  const srv = await startServer({
    extraFlags: [`--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url), '--circuit.failure_threshold=0', ...extraFlags],
  });
  const secrets = [srv.token];

  /** A key of `provider` whose value says `behaviour` (mock_providers.mjs), added to `owner`'s tenant. */
  async function addKey(owner, provider, behaviour = 'good') {
    const key = `${provider === 'kimi' ? 'kimi' : 'sk'}-${behaviour}-sdk-${suffix()}`;
    secrets.push(key);
    const row = await owner.mutation('apiKeys.create', { provider, name: `${provider} ${behaviour}`, key, isPersonal: false });
    return { ...row, key, fp: fingerprint(key) };
  }

  /** A fresh tenant with `primary` (and `fallback`) as its chain; no keys yet. */
  async function tenant(slug, primary, fallback = null) {
    const token = await seedTenant(srv, { slug, name: `SDK ${slug}`, email: `admin@${slug}.test` });
    secrets.push(token);
    const owner = trpcClient(srv.url, token);
    await owner.mutation('llmDefaults.update', { primary, fallback });
    return { slug, token, owner };
  }

  const tenants = {};
  for (const provider of PROVIDERS) {
    const t = await tenant(`sdk-${provider}`, provider);
    tenants[provider] = { ...t, key: await addKey(t.owner, provider, 'good-cached') };
  }

  return {
    mock,
    srv,
    tenants,
    secrets,
    tenant,
    addKey,
    /** Chat calls the mock saw with `key` ({key, fp} as addKey returns). */
    callsWith(key) {
      return mock.chats(undefined, key.key);
    },
    /** Stops the server (it must exit cleanly and have logged no secret), then the mock. */
    async stop() {
      const stopped = await srv.stop();
      await mock.close();
      if (stopped.code !== 0) throw new Error(`nyxgate exited ${stopped.code}\n${tail(srv.stderr(), 40)}`);
      const leaked = leakedSecrets(srv.stderr(), secrets);
      if (leaked.length) throw new Error(`a key or token reached the log: ${leaked.length} of them`);
    },
  };
}

/** Starts the gateway before the file's tests and stops it after them; read `.gw` in the tests. */
export function useSdkGateway(options) {
  const holder = { gw: null };
  before(async () => {
    holder.gw = await startSdkGateway(options);
  });
  after(() => holder.gw?.stop());
  return holder;
}
