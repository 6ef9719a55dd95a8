// The Debian package's payload, extracted into a temporary root (tests/package/deb_test.sh):
// its binary serves with its packaged /etc/nyxgate/nyxgate.toml (flags point the data folder
// and the providers at the test's own), and a completion goes through the official openai
// client, plain and streamed. Run by deb_test.sh, not by the e2e suite.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import OpenAI from 'openai';

import { ECHO_PREFIX, providerFlags, startMockProviders } from '../lib/mock_providers.mjs';
import { startServer } from '../lib/server.mjs';
import { trpcClient } from '../lib/trpc.mjs';

const config = process.env.NYXGATE_PACKAGED_CONFIG;

describe('the packaged nyxgate', () => {
  let mock;
  let srv;
  let client;

  before(async () => {
    assert.ok(config && existsSync(config), `NYXGATE_PACKAGED_CONFIG=${config} does not exist`);
    mock = await startMockProviders();
    srv = await startServer({
      extraFlags: [`--config=${config}`, `--tls.ca_file=${mock.caFile}`, ...providerFlags(mock.url)],
    });
    const owner = trpcClient(srv.url, srv.token);
    await owner.mutation('apiKeys.create', { provider: 'openai', name: 'packaged', key: 'sk-good-packaged-1' });
    await owner.mutation('llmDefaults.update', { primary: 'openai', fallback: null });
    client = new OpenAI({ apiKey: srv.token, baseURL: `${srv.url}/v1`, maxRetries: 0 });
  });

  after(async () => {
    if (srv) {
      const stopped = await srv.stop();
      assert.equal(stopped.code, 0, 'serve did not exit cleanly on SIGTERM');
    }
    if (mock) await mock.close();
  });

  it('answers a completion through the openai client', async () => {
    const answer = await client.chat.completions.create({
      model: 'auto',
      messages: [{ role: 'user', content: 'hello from the package' }],
    });
    assert.equal(answer.choices[0].message.content, `${ECHO_PREFIX}hello from the package`);
  });

  it('streams a completion through the openai client', async () => {
    const stream = await client.chat.completions.create({
      model: 'openai/gpt-4o-mini',
      messages: [{ role: 'user', content: 'streamed from the package' }],
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, `${ECHO_PREFIX}streamed from the package`);
  });
});
