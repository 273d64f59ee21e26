'use strict';
// The `ibmcloud kp`-style commands of the `keywarden` client (keys, key …,
// key-rings, key-ring …, registrations, import-token …; docs/cli-keys.md)
// against a real server: every verb, tables by default and JSON with
// `--output json`, the instance from -i or the environment, credentials
// from KEYWARDEN_TOKEN or KEYWARDEN_APIKEY, secure import done by the CLI
// (and with material sealed beforehand by node's crypto), and errors: exit 1
// with the server's reason on one stderr line, 2 for a usage error.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { useServer, binaryPath } = require('../lib/server');
const { parseToken, secureImportFields } = require('../lib/import');
const { createServiceId, createApiKey, createPolicy, tokenFor } = require('../lib/identity');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-cli-kp-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cliPath() {
  return process.env.KEYWARDEN_CLI_BIN ? path.resolve(process.env.KEYWARDEN_CLI_BIN) : binaryPath();
}

// Credentials that must never be printed; run() checks every output.
const secrets = new Set();

// Runs the client with only `env` (no KEYWARDEN_* or KP_* from the caller,
// a fresh HOME); `input` goes to stdin. Resolves with {code, stdout, stderr}.
function run(args, { env = {}, input } = {}) {
  const home = fs.mkdtempSync(path.join(tmp, 'home-'));
  const fullEnv = {
    PATH: process.env.PATH,
    HOME: home,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    ...env,
  };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(cliPath(), args, { env: fullEnv, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.stdin.end(input === undefined ? '' : input);
    child.on('close', (code, signal) => {
      const r = { code, signal, stdout, stderr, args };
      for (const s of secrets) {
        assert.ok(!stdout.includes(s) && !stderr.includes(s),
          `keywarden ${args.join(' ')} printed a credential:\n${stdout}\n${stderr}`);
      }
      resolve(r);
    });
  });
}

function show(r) {
  return `keywarden ${r.args.join(' ')} → exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n` +
         `stdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

function ok(r) {
  assert.equal(r.code, 0, show(r));
  return r;
}

function jsonOut(r) {
  ok(r);
  assert.match(r.stdout, /^[^\n]+\n$/, `one JSON line expected:\n${show(r)}`);
  return JSON.parse(r.stdout);
}

// Exit 1, nothing on stdout, one stderr line naming the server's reason.
function failsWith(r, code) {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one stderr line expected:\n${show(r)}`);
  assert.match(lines[0], new RegExp(`^keywarden: ${code}: \\S`), show(r));
  return lines[0];
}

function usage(r, re) {
  assert.equal(r.code, 2, show(r));
  assert.equal(r.stdout, '', show(r));
  if (re) assert.match(r.stderr, re, show(r));
  return r;
}

// A table: single-word headers, cells aligned under them, two-space gaps.
function table(r) {
  ok(r);
  const lines = r.stdout.slice(0, -1).split('\n');
  const cols = [...lines[0].matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  return lines.slice(1).map((line) => {
    assert.ok(!line.endsWith(' '), `trailing blank in ${JSON.stringify(line)}`);
    const row = {};
    cols.forEach((c, i) => {
      const end = i + 1 < cols.length ? cols[i + 1].start : undefined;
      if (i > 0) assert.equal(line.slice(c.start - 2, c.start), '  ', `gap before ${c.name}: ${r.stdout}`);
      row[c.name] = line.slice(c.start, end).trim();
    });
    return row;
  });
}

const header = (r) => r.stdout.split('\n')[0].split(/\s+/);
const b64 = (n) => crypto.randomBytes(n).toString('base64');

describe('keywarden kp-style commands against a server', () => {
  const srv = useServer({ args: ['--test-clock'] });
  let env;  // the bootstrap administrator on the harness's instance
  before(() => {
    secrets.add(srv.token);
    env = { KEYWARDEN_ADDR: srv.url, KEYWARDEN_TOKEN: srv.token, KP_INSTANCE_ID: srv.instance };
  });
  const kp = (args, extra = {}) => run(args, { env: { ...env, ...extra } });

  async function metadata(id) {
    const res = await srv.request('GET', `/api/v2/keys/${id}/metadata`);
    assert.equal(res.status, 200, res.text);
    return res.json.resources[0];
  }

  async function rootKey(name) {
    return jsonOut(await kp(['key', 'create', name, '--output', 'json']));
  }

  describe('instance and credentials', () => {
    test('-i/--instance-ID beats KP_INSTANCE_ID, which beats KEYWARDEN_INSTANCE', async () => {
      const other = await srv.request('POST', '/admin/v1/instances', {
        body: { name: 'kp-other' }, json: true, headers: { 'Bluemix-Instance': null },
      });
      assert.equal(other.status, 201, other.text);
      const k = jsonOut(await kp(['key', 'create', 'elsewhere', '-i', other.json.id, '-o', 'json']));
      const inOther = jsonOut(await kp(['keys', '--instance-ID', other.json.id, '-o', 'json']));
      assert.deepEqual(inOther.map((x) => x.id), [k.id]);
      const byKw = jsonOut(await kp(['keys', '-o', 'json'],
        { KP_INSTANCE_ID: undefined, KEYWARDEN_INSTANCE: other.json.id }));
      assert.deepEqual(byKw.map((x) => x.id), [k.id]);
      const byKp = jsonOut(await kp(['keys', '-o', 'json'], { KEYWARDEN_INSTANCE: other.json.id }));
      assert.ok(!byKp.some((x) => x.id === k.id), 'KP_INSTANCE_ID wins over KEYWARDEN_INSTANCE');
    });

    test('no instance is a usage error (exit 2); no credentials is exit 1', async () => {
      usage(await kp(['keys'], { KP_INSTANCE_ID: undefined }), /KP_INSTANCE_ID/);
      const r = await kp(['keys'], { KEYWARDEN_TOKEN: undefined });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /not logged in/);
    });

    test('KEYWARDEN_APIKEY is exchanged for a token; a refused one is exit 1', async () => {
      const user = await srv.request('POST', '/admin/v1/users', {
        body: { name: 'kp-reader', admin: false }, json: true, headers: { 'Bluemix-Instance': null },
      });
      assert.equal(user.status, 201, user.text);
      await createPolicy(srv, user.json.id, srv.instance, ['Reader']);
      const { apikey } = await createApiKey(srv, user.json.id);
      secrets.add(apikey);
      const k = await rootKey('for-the-reader');
      const listed = jsonOut(await kp(['keys', '-o', 'json'],
        { KEYWARDEN_TOKEN: undefined, KEYWARDEN_APIKEY: apikey }));
      assert.ok(listed.some((x) => x.id === k.id));
      // A Reader cannot rotate: the server's reason, not the client's.
      failsWith(await kp(['key', 'rotate', k.id], { KEYWARDEN_TOKEN: undefined, KEYWARDEN_APIKEY: apikey }),
        'FORBIDDEN_ERR');
      const bad = `${apikey.slice(0, -4)}xxxx`;
      secrets.add(bad);
      const r = await kp(['keys'], { KEYWARDEN_TOKEN: undefined, KEYWARDEN_APIKEY: bad });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^keywarden: cannot get a token with the API key: UNAUTHORIZED_ERR: [^\n]+\n$/);
    });
  });

  describe('keys', () => {
    test('key create: table by default, JSON with --output json, both the server\'s key', async () => {
      const t = await kp(['key', 'create', 'tabled', '-d', 'a description']);
      assert.deepEqual(header(t), ['ID', 'NAME', 'TYPE', 'STATE', 'KEY_RING', 'VERSION', 'ALIASES', 'CREATED']);
      const [row] = table(t);
      assert.equal(row.NAME, 'tabled');
      assert.equal(row.TYPE, 'root');
      assert.equal(row.STATE, 'Active');
      assert.equal(row.KEY_RING, 'default');
      const meta = await metadata(row.ID);
      assert.equal(meta.description, 'a description');
      assert.equal(row.VERSION, meta.keyVersion.id);

      const j = jsonOut(await kp(['key', 'create', 'jsoned', '-a', 'kp-alias-1', '--output', 'json']));
      const m = await metadata(j.id);
      for (const f of ['id', 'name', 'state', 'extractable', 'crn', 'keyRingID', 'creationDate', 'aliases']) {
        assert.deepEqual(j[f], m[f], f);
      }
      assert.deepEqual(j.keyVersion.id, m.keyVersion.id);
    });

    test('key create -k PAYLOAD --standard-key imports a standard key; "-" reads stdin', async () => {
      const payload = b64(48);
      const k = jsonOut(await kp(['key', 'create', 'std', '-k', payload, '-s', '-o', 'json']));
      assert.equal(k.extractable, true);
      const got = await srv.request('GET', `/api/v2/keys/${k.id}`);
      assert.equal(got.json.resources[0].payload, payload);

      const material = b64(32);
      const r = await run(['key', 'create', 'from-stdin', '-k', '-', '-o', 'json'],
        { env, input: `${material}\n` });
      const root = jsonOut(r);
      assert.equal(root.extractable, false);
      usage(await kp(['key', 'create', 'bad', '-k', 'not base64!!']), /must be base64/);
    });

    test('keys lists them as a table and as JSON', async () => {
      const k = await rootKey('listed');
      const rows = table(await kp(['keys']));
      assert.ok(rows.some((x) => x.ID === k.id && x.NAME === 'listed' && x.STATE === 'Active'));
      const list = jsonOut(await kp(['keys', '-o', 'json']));
      const res = await srv.request('GET', '/api/v2/keys');
      assert.deepEqual(list.map((x) => x.id), res.json.resources.map((x) => x.id));
    });

    test('key show ID; an unknown id is exit 1 with the server\'s NOT_FOUND_ERR', async () => {
      const k = await rootKey('shown');
      const [row] = table(await kp(['key', 'show', k.id]));
      assert.equal(row.ID, k.id);
      assert.deepEqual(jsonOut(await kp(['key', 'show', k.id, '-o', 'json'])).crn, k.crn);
      const line = failsWith(await kp(['key', 'show', crypto.randomUUID()]), 'NOT_FOUND_ERR');
      assert.match(line, /not|Not/);
      usage(await kp(['key', 'show']));
    });

    test('key wrap -p -a / key unwrap CIPHERTEXT -a round trip; a wrong aad fails', async () => {
      const k = await rootKey('wrapper');
      const dek = b64(32);
      const w = jsonOut(await kp(['key', 'wrap', k.id, '-p', dek, '-a', 'ns/a,secret/b', '-o', 'json']));
      assert.equal(typeof w.ciphertext, 'string');
      assert.equal(w.keyVersion.id, k.keyVersion.id);
      assert.equal(w.plaintext, undefined);
      const u = jsonOut(await kp(['key', 'unwrap', k.id, w.ciphertext, '-a', 'ns/a', '-a', 'secret/b', '-o', 'json']));
      assert.equal(u.plaintext, dek);
      const [row] = table(await kp(['key', 'unwrap', k.id, w.ciphertext, '--aad', 'ns/a,secret/b']));
      assert.equal(row.PLAINTEXT, dek);
      assert.equal(row.REWRAPPED, '-');
      failsWith(await kp(['key', 'unwrap', k.id, w.ciphertext, '-a', 'ns/a']), 'UNPROCESSABLE_CIPHERTEXT_ERR');
    });

    test('key wrap without -p prints the generated data key', async () => {
      const k = await rootKey('generator');
      const t = await kp(['key', 'wrap', k.id]);
      assert.deepEqual(header(t), ['CIPHERTEXT', 'KEY_VERSION', 'PLAINTEXT']);
      const [row] = table(t);
      assert.equal(Buffer.from(row.PLAINTEXT, 'base64').length, 32);
      const u = jsonOut(await kp(['key', 'unwrap', k.id, row.CIPHERTEXT, '-o', 'json']));
      assert.equal(u.plaintext, row.PLAINTEXT);
    });

    test('key rotate; key versions; an old ciphertext unwraps and is rewrapped', async () => {
      const k = await rootKey('rotated');
      const w = jsonOut(await kp(['key', 'wrap', k.id, '-o', 'json']));
      assert.equal(ok(await kp(['key', 'rotate', k.id])).stdout, `Rotated key ${k.id}.\n`);
      failsWith(await kp(['key', 'rotate', k.id]), 'KEY_ROTATION_NOT_PERMITTED');  // once an hour
      await srv.advanceClock(3601);
      assert.equal(ok(await kp(['key', 'rotate', k.id, '-o', 'json'])).stdout, '');
      const versions = jsonOut(await kp(['key', 'versions', k.id, '-o', 'json']));
      assert.equal(versions.length, 3);
      assert.equal(table(await kp(['key', 'versions', k.id])).length, 3);
      const u = jsonOut(await kp(['key', 'unwrap', k.id, w.ciphertext, '-o', 'json']));
      assert.equal(u.plaintext, w.plaintext);
      assert.equal(u.keyVersion.id, k.keyVersion.id);
      assert.equal(u.rewrappedKeyVersion.id, versions[0].id);
      assert.equal(typeof u.ciphertext, 'string');
    });

    test('key disable | enable', async () => {
      const k = await rootKey('toggled');
      assert.equal(ok(await kp(['key', 'disable', k.id])).stdout, `Disabled key ${k.id}.\n`);
      assert.equal((await metadata(k.id)).state, 2);
      failsWith(await kp(['key', 'wrap', k.id]), 'KEY_ACTION_INVALID_STATE_ERR');
      await srv.advanceClock(31);
      assert.equal(ok(await kp(['key', 'enable', k.id])).stdout, `Enabled key ${k.id}.\n`);
      ok(await kp(['key', 'wrap', k.id]));
    });

    test('key delete, key restore (30 s later)', async () => {
      const k = await rootKey('deleted');
      assert.equal(ok(await kp(['key', 'delete', k.id])).stdout, `Deleted key ${k.id}.\n`);
      assert.equal((await metadata(k.id)).state, 5);
      failsWith(await kp(['key', 'delete', k.id]), 'KEY_DELETED_ERR');
      failsWith(await kp(['key', 'restore', k.id]), 'REQ_TOO_EARLY_ERR');
      await srv.advanceClock(31);
      const [row] = table(await kp(['key', 'restore', k.id]));
      assert.equal(row.ID, k.id);
      assert.equal(row.STATE, 'Active');
      assert.equal((await metadata(k.id)).state, 1);
    });

    test('key alias-create / alias-delete; the alias names the key', async () => {
      const k = await rootKey('aliased');
      const [row] = table(await kp(['key', 'alias-create', k.id, '-a', 'my-alias']));
      assert.deepEqual(Object.keys(row), ['KEY_ID', 'ALIAS', 'CREATED', 'CREATED_BY']);
      assert.equal(row.KEY_ID, k.id);
      assert.equal(jsonOut(await kp(['key', 'show', 'my-alias', '-o', 'json'])).id, k.id);
      failsWith(await kp(['key', 'alias-create', k.id, '-a', 'my-alias']), 'CONFLICT_ERR');
      ok(await kp(['key', 'alias-delete', k.id, '-a', 'my-alias']));
      failsWith(await kp(['key', 'show', 'my-alias']), 'NOT_FOUND_ERR');
    });

    test('key policies and policy-update rotation | dual-auth-delete', async () => {
      const k = await rootKey('governed');
      assert.deepEqual(jsonOut(await kp(['key', 'policies', k.id, '-o', 'json'])), {});
      const rot = jsonOut(await kp(['key', 'policy-update', 'rotation', k.id, '-e', '-m', '3', '-o', 'json']));
      assert.deepEqual(rot, { rotation: { enabled: true, interval_month: 3 } });
      ok(await kp(['key', 'policy-update', 'dual-auth-delete', k.id, '--enable']));
      const rows = table(await kp(['key', 'policies', k.id]));
      assert.deepEqual(rows.sort((a, b) => a.POLICY.localeCompare(b.POLICY)), [
        { POLICY: 'dualAuthDelete', ENABLED: 'true', INTERVAL_MONTH: '-' },
        { POLICY: 'rotation', ENABLED: 'true', INTERVAL_MONTH: '3' },
      ]);
      failsWith(await kp(['key', 'policy-update', 'dual-auth-delete', k.id, '-d']), 'CONFLICT_ERR');
      usage(await kp(['key', 'policy-update', 'rotation', k.id, '-m', '13', '-e']), /1 to 12/);
      usage(await kp(['key', 'policy-update', 'rotation', k.id]), /--enable/);
      // Nothing changed.
      const after = await srv.request('GET', `/api/v2/keys/${k.id}/policies`);
      const rotation = after.json.resources.find((p) => p.rotation).rotation;
      assert.equal(rotation.interval_month, 3);
    });
  });

  describe('key rings', () => {
    test('key-ring create, key create -r, key-rings, key-ring delete', async () => {
      assert.equal(ok(await kp(['key-ring', 'create', 'ring-one'])).stdout, 'Created key ring ring-one.\n');
      const rings = jsonOut(await kp(['key-rings', '-o', 'json']));
      assert.deepEqual(rings.map((r) => r.id), ['default', 'ring-one']);
      const rows = table(await kp(['key-rings']));
      assert.deepEqual(rows[0], { ID: 'default', CREATED: '-', CREATED_BY: '-' });
      const k = jsonOut(await kp(['key', 'create', 'ringed', '-r', 'ring-one', '-o', 'json']));
      assert.equal(k.keyRingID, 'ring-one');
      failsWith(await kp(['key-ring', 'delete', 'ring-one']), 'CONFLICT_ERR');
      ok(await kp(['key', 'delete', k.id]));
      failsWith(await kp(['key-ring', 'delete', 'ring-one']), 'CONFLICT_ERR');
      assert.equal(ok(await kp(['key-ring', 'delete', 'ring-one', '-f'])).stdout, 'Deleted key ring ring-one.\n');
      failsWith(await kp(['key-ring', 'delete', 'ring-one']), 'NOT_FOUND_ERR');
    });
  });

  describe('registrations', () => {
    test('lists what services registered, per key and by CRN; as the service (API key) too', async () => {
      const svc = await createServiceId(srv, 'kp-cos', 'cloud-object-storage');
      await createPolicy(srv, svc.id, srv.instance, ['Reader']);
      const { apikey } = await createApiKey(srv, svc.id);
      secrets.add(apikey);
      const token = await tokenFor(srv, apikey);
      secrets.add(token);
      const k = await rootKey('registered');
      const crn = 'crn:v1:keywarden:public:cloud-object-storage:local:a/acct:cos-1:bucket:b1';
      const reg = await srv.request('POST',
        `/api/v2/keys/${k.id}/registrations/${encodeURIComponent(crn)}`, {
          token, json: true,
          body: { metadata: { collectionType: 'application/vnd.ibm.kms.registration_input+json', collectionTotal: 1 },
                  resources: [{ description: 'bucket b1', preventKeyDeletion: false }] },
        });
      assert.ok(reg.status === 200 || reg.status === 201, reg.text);

      const all = jsonOut(await kp(['registrations', '-o', 'json']));
      assert.equal(all.length, 1);
      assert.equal(all[0].keyId, k.id);
      assert.equal(all[0].resourceCrn, crn);
      assert.equal(all[0].description, 'bucket b1');
      const [row] = table(await kp(['registrations', '-k', k.id]));
      assert.deepEqual(row, { KEY_ID: k.id, RESOURCE_CRN: crn, DESCRIPTION: 'bucket b1',
                              PREVENT_DELETION: 'false', CREATED: all[0].creationDate });
      const byCrn = jsonOut(await kp(['registrations', '-c',
        'crn:v1:keywarden:public:cloud-object-storage:local:a/acct:cos-1:bucket:*', '-o', 'json']));
      assert.equal(byCrn.length, 1);
      const none = jsonOut(await kp(['registrations', '-c',
        'crn:v1:keywarden:public:cloud-object-storage:local:a/acct:cos-2:bucket:*', '-o', 'json']));
      assert.deepEqual(none, []);
      const asService = jsonOut(await kp(['registrations', '-o', 'json'],
        { KEYWARDEN_TOKEN: undefined, KEYWARDEN_APIKEY: apikey }));
      assert.deepEqual(asService, all);

      failsWith(await kp(['key', 'delete', k.id]), 'PROTECTED_RESOURCE_ERR');
      ok(await kp(['key', 'delete', k.id, '--force']));
    });
  });

  describe('import-token and secure import', () => {
    test('import-token create / show; key create -k MATERIAL -t seals the material here', async () => {
      const t = await kp(['import-token', 'create', '-e', '900', '-m', '3']);
      assert.deepEqual(header(t), ['ID', 'CREATED', 'EXPIRES', 'MAX_RETRIEVALS', 'REMAINING']);
      const [row] = table(t);
      assert.equal(row.MAX_RETRIEVALS, '3');
      assert.equal(row.REMAINING, '3');

      const material = crypto.randomBytes(32);
      const k = jsonOut(await kp(['key', 'create', 'imported', '-k', material.toString('base64'), '-t',
        '-o', 'json']));
      assert.equal(k.extractable, false);
      // The key holds that material: a WDEK made by it opens with it.
      const w = jsonOut(await kp(['key', 'wrap', k.id, '-o', 'json']));
      assert.equal(jsonOut(await kp(['key', 'unwrap', k.id, w.ciphertext, '-o', 'json'])).plaintext, w.plaintext);

      // show counts a retrieval and gives the public key and nonce (JSON).
      const shown = jsonOut(await kp(['import-token', 'show', '-o', 'json']));
      assert.equal(shown.id, row.ID);
      assert.equal(shown.remainingRetrievals, 1);
      const token = parseToken(shown);
      assert.equal(token.nonce.length, 12);

      // Material sealed elsewhere (node's crypto): -k sealed -n -v.
      const other = crypto.randomBytes(16);
      const f = secureImportFields(token, other);
      const k2 = jsonOut(await kp(['key', 'create', 'presealed', '-k', f.payload, '-n', f.encryptedNonce,
        '-v', f.iv, '-o', 'json']));
      assert.equal(k2.extractable, false);
      // A nonce sealed under another IV: the server says so.
      const bad = secureImportFields(token, other, { sentIv: crypto.randomBytes(12) });
      failsWith(await kp(['key', 'create', 'bad-iv', '-k', bad.payload, '-n', bad.encryptedNonce, '-v', bad.iv]),
        'INCORRECT_NONCE_IV_ERR');

      // key rotate -t on the imported key, with new material.
      assert.equal(ok(await kp(['key', 'rotate', k.id, '-k', b64(32), '-t'])).stdout, `Rotated key ${k.id}.\n`);
      assert.equal(jsonOut(await kp(['key', 'versions', k.id, '-o', 'json'])).length, 2);
      // Retrievals are used up: the server's reason.
      failsWith(await kp(['import-token', 'show']), 'IMPORT_TOKEN_EXPIRED_ERR');
      failsWith(await kp(['key', 'create', 'late', '-k', b64(32), '-t']), 'IMPORT_TOKEN_EXPIRED_ERR');
    });

    test('flag mistakes are usage errors and send nothing', async () => {
      const before = (await srv.request('GET', '/api/v2/keys')).json.resources?.length ?? 0;
      usage(await kp(['key', 'create', 'x', '-n', 'AAAA']), /go together/);
      usage(await kp(['key', 'create', 'x', '-t']), /needs -k/);
      usage(await kp(['key', 'create', 'x', '-s', '-k', b64(32), '-t']), /root keys/);
      usage(await kp(['key', 'create', 'x', '-k', b64(32), '-t', '-n', 'AAAA', '-v', 'AAAA']), /leave out/);
      const after = (await srv.request('GET', '/api/v2/keys')).json.resources?.length ?? 0;
      assert.equal(after, before);
    });
  });
});
