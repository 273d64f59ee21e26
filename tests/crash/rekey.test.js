'use strict';
// Rekey of the master key, interrupted (docs/operations.md "Rekey the
// master key"): keys, standard-key payloads and WDEKs are made under the
// first master key; `POST /admin/v1/seal/rekey` starts re-sealing them two
// rows per transaction with a pause between batches; the server is killed
// with SIGKILL midway (some rows re-sealed, some not) and restarted. The
// restarted server resumes on its own; then every WDEK must still unwrap,
// every payload read back, no sealed row may be under the old key id, and
// the old key must be gone from the data dir (master.key holds the new
// one, no staged file remains).
//
// On SQLite in the data dir, or on PostgreSQL with KW_REKEY_BACKEND=postgres
// (rekey-postgres.test.js), a fresh database as in crash.test.js.

const { test } = require('node:test');
const { execFileSync } = require('node:child_process');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { useServer } = require('../lib/server');
const { keyEnvelope, keyResource, desc } = require('../lib/kp');
const { postgresDatabase } = require('../lib/postgres');

const KEY_TYPE = 'application/vnd.ibm.kms.key+json';
const ROOT_KEYS = 24;
const STANDARD_KEYS = 8;
const BACKEND = process.env.KW_REKEY_BACKEND || 'sqlite';

const pg = BACKEND === 'postgres' ? postgresDatabase('kw_rekey') : null;
const srv = pg && !pg.url ? null : useServer({ args: pg ? ['--database', pg.url] : [] });

// Sealed rows per master key id, straight from the database.
function rowsByMasterKey() {
  const sql = ['key_versions', 'import_tokens', 'webhooks', 'signing_keys']
    .map((t) => `SELECT master_key_id FROM ${t}`).join(' UNION ALL ');
  let out;
  if (pg) {
    out = execFileSync('psql', [pg.url, '-qAtc',
      `SELECT convert_from(master_key_id, 'UTF8'), count(*) FROM (${sql}) s GROUP BY 1`]);
  } else {
    out = execFileSync('sqlite3', ['-readonly', path.join(srv.dataDir, 'keywarden.db'),
      `SELECT master_key_id || '|' || count(*) FROM (${sql}) GROUP BY master_key_id`]);
  }
  const counts = {};
  for (const line of out.toString().split('\n').filter(Boolean)) {
    const [id, n] = line.split('|');
    counts[id] = Number(n);
  }
  return counts;
}

function keyFileId(name) {
  const p = path.join(srv.dataDir, name);
  if (!fs.existsSync(p)) return null;
  return fs.readFileSync(p, 'utf8').split('\n')[1];
}

async function sealStatus() {
  const res = await srv.request('GET', '/admin/v1/seal');
  assert.equal(res.status, 200, desc(res));
  return res.json;
}

// Polls the seal status until `done(status)`; fails after `ms`.
async function waitFor(done, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await sealStatus();
    if (done(s)) return s;
    if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms: ${JSON.stringify(s)}\n${srv.logTail(3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function unwrapAll(wdeks, problems, when) {
  for (const w of wdeks) {
    const res = await srv.request('POST', `/api/v2/keys/${w.keyId}/actions/unwrap`,
      { body: { ciphertext: w.ciphertext, aad: w.aad } });
    if (res.status !== 200) problems.push(`${when}: WDEK of ${w.keyId} does not unwrap: ${desc(res)}`);
    else if (res.json.plaintext !== w.plaintext) problems.push(`${when}: WDEK of ${w.keyId} unwraps to another DEK`);
  }
}

async function createKey(fields) {
  const res = await srv.request('POST', '/api/v2/keys', {
    headers: { 'Content-Type': KEY_TYPE, Prefer: 'return=representation' },
    body: keyEnvelope(keyResource(fields)),
  });
  assert.equal(res.status, 201, desc(res));
  return res.json.resources[0];
}

test('a rekey killed midway resumes after the restart and loses nothing', { skip: (pg && pg.skip) || false }, async (t) => {
  if (pg && pg.fail) assert.fail(pg.fail);
  const wdeks = [];
  const standard = [];
  for (let i = 0; i < ROOT_KEYS; i += 1) {
    const k = await createKey({ name: `rekey-root-${i}`, extractable: false });
    const aad = [`ctx-${i}`];
    const res = await srv.request('POST', `/api/v2/keys/${k.id}/actions/wrap`, { body: { aad } });
    assert.equal(res.status, 200, desc(res));
    wdeks.push({ keyId: k.id, ciphertext: res.json.ciphertext, plaintext: res.json.plaintext, aad });
  }
  for (let i = 0; i < STANDARD_KEYS; i += 1) {
    const payload = crypto.randomBytes(48).toString('base64');
    const k = await createKey({ name: `rekey-std-${i}`, extractable: true, payload });
    standard.push({ id: k.id, payload });
  }

  const before = await sealStatus();
  const oldId = before.keyId;
  assert.equal(keyFileId('master.key'), oldId);
  const total = rowsByMasterKey()[oldId];
  assert.ok(total >= ROOT_KEYS + STANDARD_KEYS, `sealed rows: ${JSON.stringify(rowsByMasterKey())}`);

  // Only administrators may rekey.
  const denied = await srv.request('POST', '/admin/v1/seal/rekey', { token: 'not-a-token', body: {} });
  assert.ok(denied.status === 401 || denied.status === 403, desc(denied));

  const started = await srv.request('POST', '/admin/v1/seal/rekey', { body: { batchSize: 2, pauseMs: 150 }, json: true });
  assert.equal(started.status, 202, desc(started));
  const newId = started.json.rekey.toKeyId;
  assert.notEqual(newId, oldId);
  assert.equal(keyFileId('master.key.next'), newId, 'the next key is staged before rows move');

  // Midway: some rows moved, some not. Reads and writes keep working.
  await waitFor((s) => s.rekey && s.rekey.remaining <= total - 4, 20000, 'no progress');
  const problems = [];
  await unwrapAll(wdeks.slice(0, 4), problems, 'mid-rekey');
  const late = await createKey({ name: 'rekey-during', extractable: true, payload: crypto.randomBytes(32).toString('base64') });
  const counts = rowsByMasterKey();
  assert.ok(counts[oldId] > 0 && counts[newId] > 0, `not midway: ${JSON.stringify(counts)}`);

  const exit = await srv.kill('SIGKILL');
  assert.equal(exit.signal, 'SIGKILL');
  assert.equal(keyFileId('master.key'), oldId, 'the old key stays until the rekey is done');

  await srv.start();
  const done = await waitFor((s) => !s.rekey, 30000, 'the resumed rekey did not finish');
  assert.equal(done.keyId, newId);

  // Audited: the start, the restarted node taking it up with the batch
  // size and pause given at the start (kept in the rekey record), the end.
  const audit = await srv.request('GET', '/admin/v1/audit?limit=1000');
  assert.equal(audit.status, 200, desc(audit));
  const rekeyRecords = audit.json.records.filter((r) => r.action.startsWith('kms.masterkey.rekey.'));
  assert.deepEqual(rekeyRecords.map((r) => `${r.action} ${r.target}`), [
    `kms.masterkey.rekey.start masterkey:${oldId}`,
    `kms.masterkey.rekey.resume masterkey:${oldId}`,
    `kms.masterkey.rekey.finish masterkey:${newId}`,
  ]);
  assert.equal(rekeyRecords[1].actor, 'system');
  assert.equal(rekeyRecords[1].details, `to master key ${newId}, batch size 2, pause 150 ms`);

  const after = rowsByMasterKey();
  assert.deepEqual(Object.keys(after), [newId], `rows by master key after the rekey: ${JSON.stringify(after)}`);
  assert.equal(keyFileId('master.key'), newId, 'master.key holds the new key');
  assert.equal(keyFileId('master.key.next'), null, 'no staged key remains');
  assert.ok(!fs.readdirSync(srv.dataDir).some((f) => f.startsWith('master.key') && keyFileId(f) === oldId),
    'no file keeps the old key');

  await unwrapAll(wdeks, problems, 'after');
  for (const s of [...standard, { id: late.id }]) {
    const res = await srv.request('GET', `/api/v2/keys/${s.id}`);
    if (res.status !== 200) problems.push(`standard key ${s.id}: ${desc(res)}`);
    else if (s.payload && res.json.resources[0].payload !== s.payload) problems.push(`standard key ${s.id}: payload changed`);
  }
  assert.deepEqual(problems, []);

  // A second restart: the server opens everything with the new key alone.
  await srv.kill('SIGTERM');
  await srv.start();
  const problemsAfterRestart = [];
  await unwrapAll(wdeks.slice(0, 3), problemsAfterRestart, 'after restart');
  assert.deepEqual(problemsAfterRestart, []);
  t.diagnostic(`${total} sealed rows moved from ${oldId} to ${newId}`);
});
