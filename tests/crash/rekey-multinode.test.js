'use strict';
// A rekey on one node while another has not heard of it (docs/operations.md
// "Rekey the master key", Several nodes): two keywarden processes on one
// PostgreSQL database (KEYWARDEN_TEST_PG_URL), the file seal's master key
// copied to both. Node A runs a rekey to its end while node B stays idle, so
// B still seals under the retired key. B's next key creation must not
// commit under it: the store refuses the row inside B's write transaction
// and B, whose file seal cannot learn a key kept in A's data dir, answers
// 503. Restarted with A's new master.key, B creates keys under the new id,
// and every WDEK made before the rekey unwraps on both nodes.
// (src/keywarden/service/seal_rekey_test.cc runs the pkcs11 case, where the
// stale node learns the new key and creates the key under it at once.)

const { test } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { KeywardenServer } = require('../lib/server');
const { KEY_TYPE, keyEnvelope, keyResource, desc } = require('../lib/kp');
const { postgresDatabase } = require('../lib/postgres');

const pg = postgresDatabase('kw_rekey_multi');

function rowsByMasterKey() {
  const sql = ['key_versions', 'import_tokens', 'webhooks', 'signing_keys']
    .map((t) => `SELECT master_key_id FROM ${t}`).join(' UNION ALL ');
  const out = execFileSync('psql', [pg.url, '-qAtc',
    `SELECT convert_from(master_key_id, 'UTF8'), count(*) FROM (${sql}) s GROUP BY 1`]);
  const counts = {};
  for (const line of out.toString().split('\n').filter(Boolean)) {
    const [id, n] = line.split('|');
    counts[id] = Number(n);
  }
  return counts;
}

function copyMasterKey(from, to) {
  const dst = path.join(to.dataDir, 'master.key');
  fs.copyFileSync(path.join(from.dataDir, 'master.key'), dst);
  fs.chmodSync(dst, 0o600);
}

async function createKey(srv, name) {
  return srv.request('POST', '/api/v2/keys', {
    headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation' },
    body: keyEnvelope(keyResource({ name, extractable: false })),
  });
}

test('a node that missed a rekey never writes under the retired key', { skip: pg.skip || false, timeout: 120000 }, async (t) => {
  if (pg.fail) assert.fail(pg.fail);
  const token = `kw-test-${crypto.randomBytes(16).toString('hex')}`;
  const node = (id, createInstance) => new KeywardenServer({
    token, createInstance, args: ['--database', pg.url], env: { KEYWARDEN_NODE_ID: id },
  });
  const a = node('node-a', true);
  const b = node('node-b', false);
  t.after(async () => { await a.cleanup(); await b.cleanup(); });
  await a.start();
  copyMasterKey(a, b);
  b.instance = a.instance;
  await b.start();

  const wdeks = [];
  for (const [srv, name] of [[a, 'on-a-1'], [a, 'on-a-2'], [b, 'on-b']]) {
    const res = await createKey(srv, name);
    assert.equal(res.status, 201, desc(res));
    const id = res.json.resources[0].id;
    const w = await srv.request('POST', `/api/v2/keys/${id}/actions/wrap`, { body: {}, json: true });
    assert.equal(w.status, 200, desc(w));
    wdeks.push({ id, ciphertext: w.json.ciphertext, plaintext: w.json.plaintext });
  }
  const oldId = (await a.request('GET', '/admin/v1/seal')).json.keyId;

  // A rekeys to the end; B does nothing meanwhile (it meets no row under the
  // new key, so it does not learn it).
  const started = await a.request('POST', '/admin/v1/seal/rekey', { body: {}, json: true });
  assert.equal(started.status, 202, desc(started));
  const newId = started.json.rekey.toKeyId;
  for (let i = 0; ; i += 1) {
    const s = await a.request('GET', '/admin/v1/seal');
    if (!s.json.rekey) { assert.equal(s.json.keyId, newId); break; }
    assert.ok(i < 500, `the rekey did not finish: ${JSON.stringify(s.json)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(Object.keys(rowsByMasterKey()), [newId]);

  // Stale B: a clean 503, and nothing under the retired key.
  const refused = await createKey(b, 'on-stale-b');
  assert.equal(refused.status, 503, desc(refused));
  assert.deepEqual(Object.keys(rowsByMasterKey()), [newId],
    `rows by master key after the stale write: ${JSON.stringify(rowsByMasterKey())}`);

  // B restarted with the new master.key writes under the new id.
  await b.stop();
  copyMasterKey(a, b);
  await b.start();
  const created = await createKey(b, 'on-restarted-b');
  assert.equal(created.status, 201, desc(created));
  assert.deepEqual(Object.keys(rowsByMasterKey()), [newId]);

  const problems = [];
  for (const srv of [a, b]) {
    for (const w of wdeks) {
      const res = await srv.request('POST', `/api/v2/keys/${w.id}/actions/unwrap`,
        { body: { ciphertext: w.ciphertext }, json: true });
      if (res.status !== 200) problems.push(`${w.id} on ${srv.url}: ${desc(res)}`);
      else if (res.json.plaintext !== w.plaintext) problems.push(`${w.id} on ${srv.url}: another DEK`);
    }
  }
  assert.deepEqual(problems, []);
  t.diagnostic(`rekey ${oldId} -> ${newId}; the stale node answered 503`);
});
