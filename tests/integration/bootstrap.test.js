'use strict';
// The bootstrap admin token is a revocable root credential
// (docs/admin-api.md): refused to revoke while no administrator holds an API
// key, then dead for good, across restarts, while API-key tokens live on.

const { describe, test } = require('node:test');
const assert = require('node:assert/strict');
const { useServer } = require('../lib/server');

describe('bootstrap token revocation', () => {
  const srv = useServer();

  async function admin(method, path, body, token = srv.token) {
    const res = await fetch(`${srv.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  test('revoke after another administrator has an API key; stays revoked after restart', async () => {
    const early = await admin('DELETE', '/admin/v1/bootstrap_token');
    assert.equal(early.status, 409);
    assert.equal(early.json.resources[0].reasons[0].code, 'CONFLICT_ERR');

    const ops = await admin('POST', '/admin/v1/users', { name: 'ops', admin: true });
    assert.equal(ops.status, 201);
    const key = await admin('POST', '/admin/v1/api_keys', { principalId: ops.json.id, name: 'ops' });
    assert.equal(key.status, 201);
    const form = new URLSearchParams({
      grant_type: 'urn:ibm:params:oauth:grant-type:apikey', apikey: key.json.apikey,
    });
    const tokenRes = await fetch(`${srv.url}/identity/token`, { method: 'POST', body: form });
    assert.equal(tokenRes.status, 200);
    const jwt = (await tokenRes.json()).access_token;

    assert.equal((await admin('DELETE', '/admin/v1/bootstrap_token', undefined, jwt)).status, 204);
    const refused = await admin('GET', '/admin/v1/instances');
    assert.equal(refused.status, 401);
    assert.equal((await admin('GET', '/admin/v1/instances', undefined, jwt)).status, 200);

    await srv.kill('SIGTERM');
    await srv.start();
    assert.equal((await admin('GET', '/admin/v1/instances')).status, 401);
    assert.equal((await admin('GET', '/admin/v1/instances', undefined, jwt)).status, 200);
    const audit = await admin('GET', '/admin/v1/audit?limit=1000', undefined, jwt);
    assert.ok(audit.json.records.some((r) => r.action === 'iam.bootstrap_token.revoke'));
  });
});
