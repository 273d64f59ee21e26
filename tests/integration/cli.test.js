'use strict';
// The `keywarden` command-line client (src/keywarden/cli/) against a real
// server: every admin command in table and JSON mode, `login` and its token
// cache, flag/environment precedence, exit codes (0 ok, 1 error with the
// server's reason code on one stderr line, 2 usage), TLS verification, and
// that tokens and API keys never appear in output (except the one-time
// secret of `api-key create`).
//
// The client binary is $KEYWARDEN_CLI_BIN, else the binary under test
// (tests/lib/server.js), so a client build can be tested against a server
// build. Written to docs/admin-api.md.

const { describe, test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { useServer, KeywardenServer, binaryPath } = require('../lib/server');
const { keyEnvelope, keyResource, KEY_TYPE } = require('../lib/kp');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cliPath() {
  return process.env.KEYWARDEN_CLI_BIN ? path.resolve(process.env.KEYWARDEN_CLI_BIN) : binaryPath();
}

// Secrets that must never be printed; run() checks every output against them.
const secrets = new Set();

let homeCount = 0;
function freshHome() {
  homeCount += 1;
  const dir = path.join(tmp, `home-${homeCount}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

// Runs the client with a clean environment: nothing KEYWARDEN_* leaks in
// from the caller, HOME is a fresh temp dir unless given, stdin is not a
// terminal. Resolves with {code, stdout, stderr}.
function run(args, { env = {}, home } = {}) {
  const base = {
    PATH: process.env.PATH,
    HOME: home || freshHome(),
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
  };
  const fullEnv = { ...base, ...env };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(cliPath(), args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const r = { code, signal, stdout, stderr, args };
      for (const s of secrets) {
        assert.ok(!stdout.includes(s) && !stderr.includes(s),
          `keywarden ${args.join(' ')} printed a secret:\n${stdout}\n${stderr}`);
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

// JSON mode prints exactly one line of JSON.
function jsonOut(r) {
  ok(r);
  assert.match(r.stdout, /^[^\n]+\n$/, `one JSON line expected:\n${show(r)}`);
  return JSON.parse(r.stdout);
}

// A failure: exit 1 and one stderr line "keywarden: <CODE>: message".
function failsWith(r, code) {
  assert.equal(r.code, 1, show(r));
  assert.equal(r.stdout, '', show(r));
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  assert.equal(lines.length, 1, `one stderr line expected:\n${show(r)}`);
  if (code instanceof RegExp) assert.match(lines[0], code, show(r));
  else assert.match(lines[0], new RegExp(`^keywarden: ${code}: \\S`), show(r));
  return lines[0];
}

function usage(r) {
  assert.equal(r.code, 2, show(r));
  assert.notEqual(r.stderr, '', show(r));
  return r;
}

// Parses a table: a header of single-word column names, every cell starting
// in its header's column (checked), separated by at least two spaces.
function table(r) {
  ok(r);
  assert.ok(r.stdout.endsWith('\n'), show(r));
  const lines = r.stdout.slice(0, -1).split('\n');
  const header = lines[0];
  const cols = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  assert.ok(cols.length > 0 && cols[0].start === 0, show(r));
  for (let i = 1; i < cols.length; i++) {
    assert.ok(cols[i].start >= cols[i - 1].start + cols[i - 1].name.length + 2, `header spacing: ${header}`);
  }
  return lines.slice(1).map((line) => {
    assert.ok(!line.endsWith(' '), `trailing blank in ${JSON.stringify(line)}`);
    const row = {};
    cols.forEach((c, i) => {
      const end = i + 1 < cols.length ? cols[i + 1].start : undefined;
      assert.notEqual(line[c.start], ' ', `cell ${c.name} not aligned in ${JSON.stringify(line)}\n${r.stdout}`);
      if (i > 0) assert.equal(line.slice(c.start - 2, c.start), '  ', `column gap before ${c.name} in ${JSON.stringify(line)}`);
      row[c.name] = line.slice(c.start, end).trim();
    });
    return row;
  });
}

function headerOf(r) { return r.stdout.split('\n')[0].split(/\s+/); }

// A well-formed ES256 JWT for user-admin that the server never signed.
function forgedJwt() {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const jwt = `${b64({ alg: 'ES256', typ: 'JWT', kid: 'x' })}.${b64({ sub: 'user-admin', exp: 4102444800 })}.` +
    Buffer.alloc(64).toString('base64url');
  secrets.add(jwt);
  return jwt;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('keywarden CLI against a server', () => {
  const srv = useServer();
  let admin;  // environment of the bootstrap administrator
  before(() => {
    secrets.add(srv.token);
    admin = { KEYWARDEN_ADDR: srv.url, KEYWARDEN_TOKEN: srv.token };
  });

  async function adminGet(urlPath) {
    const res = await srv.request('GET', urlPath);
    assert.equal(res.status, 200, `GET ${urlPath}: ${res.text}`);
    return res.json;
  }

  describe('user', () => {
    test('create (json) prints the server\'s principal', async () => {
      const p = jsonOut(await run(['user', 'create', '--name', 'alice', '-o', 'json'], { env: admin }));
      assert.match(p.id, /^user-/);
      assert.equal(p.kind, 'user');
      assert.equal(p.name, 'alice');
      assert.equal(p.admin, false);
      assert.equal(typeof p.createdAt, 'string');
      const listed = (await adminGet('/admin/v1/principals?kind=user')).principals.find((x) => x.id === p.id);
      assert.deepEqual(p, listed);
    });

    test('create --admin (table) prints one aligned row', async () => {
      const r = await run(['user', 'create', '--name', 'root2', '--admin'], { env: admin });
      assert.deepEqual(headerOf(r), ['ID', 'NAME', 'ADMIN', 'CREATED', 'CREATED_BY']);
      const rows = table(r);
      assert.equal(rows.length, 1);
      assert.match(rows[0].ID, /^user-/);
      assert.equal(rows[0].NAME, 'root2');
      assert.equal(rows[0].ADMIN, 'true');
    });

    test('list: json is the server\'s array, table has a row per user', async () => {
      const list = jsonOut(await run(['user', 'list', '--output', 'json'], { env: admin }));
      assert.ok(Array.isArray(list));
      assert.deepEqual(list, (await adminGet('/admin/v1/principals?kind=user')).principals);
      assert.ok(list.every((p) => p.kind === 'user'), JSON.stringify(list));
      assert.ok(list.some((p) => p.id === 'user-admin' && p.admin === true), 'bootstrap user-admin listed');
      const rows = table(await run(['user', 'list'], { env: admin }));
      assert.deepEqual(rows.map((x) => x.ID).sort(), list.map((p) => p.id).sort());
      assert.ok(rows.some((x) => x.NAME === 'alice' && x.ADMIN === 'false'));
    });

    test('delete (table confirms, json prints nothing); the user is gone', async () => {
      const a = jsonOut(await run(['user', 'create', '--name', 'temp-a', '-o', 'json'], { env: admin }));
      const b = jsonOut(await run(['user', 'create', '--name', 'temp-b', '-o', 'json'], { env: admin }));
      const r = ok(await run(['user', 'delete', a.id], { env: admin }));
      assert.equal(r.stdout, `Deleted user ${a.id}.\n`);
      const r2 = ok(await run(['user', 'delete', b.id, '-o', 'json'], { env: admin }));
      assert.equal(r2.stdout, '');
      const ids = jsonOut(await run(['user', 'list', '-o', 'json'], { env: admin })).map((p) => p.id);
      assert.ok(!ids.includes(a.id) && !ids.includes(b.id));
    });

    test('delete of an unknown id: exit 1 with NOT_FOUND_ERR', async () => {
      failsWith(await run(['user', 'delete', 'user-does-not-exist'], { env: admin }), 'NOT_FOUND_ERR');
    });
  });

  describe('service-id', () => {
    test('create, list (both modes) and delete', async () => {
      const s = jsonOut(await run(['service-id', 'create', '--name', 'cos-east', '--service-type', 'object-storage',
        '-o', 'json'], { env: admin }));
      assert.match(s.id, /^\S+$/);
      assert.equal(s.kind, 'service_id');
      assert.equal(s.name, 'cos-east');
      assert.equal(s.serviceType, 'object-storage');
      const t = await run(['service-id', 'create', '--name', 'plain'], { env: admin });
      assert.deepEqual(headerOf(t), ['ID', 'NAME', 'SERVICE_TYPE', 'CREATED', 'CREATED_BY']);
      const [row] = table(t);
      assert.equal(row.NAME, 'plain');
      assert.equal(row.SERVICE_TYPE, '-');

      const list = jsonOut(await run(['service-id', 'list', '-o', 'json'], { env: admin }));
      assert.deepEqual(list, (await adminGet('/admin/v1/principals?kind=service_id')).principals);
      assert.ok(list.every((p) => p.kind === 'service_id'));
      assert.ok(list.some((p) => p.id === s.id));
      const rows = table(await run(['service-id', 'list'], { env: admin }));
      assert.ok(rows.some((x) => x.ID === s.id && x.SERVICE_TYPE === 'object-storage'));

      assert.equal(ok(await run(['service-id', 'delete', row.ID], { env: admin })).stdout,
        `Deleted service id ${row.ID}.\n`);
      const after = jsonOut(await run(['service-id', 'list', '-o', 'json'], { env: admin }));
      assert.ok(!after.some((p) => p.id === row.ID));
    });
  });

  describe('api-key', () => {
    let owner;
    before(async () => {
      owner = jsonOut(await run(['user', 'create', '--name', 'key-owner', '-o', 'json'], { env: admin }));
    });

    test('create (table) prints the secret once and says so; list never shows it', async () => {
      const r = ok(await run(['api-key', 'create', '--principal', owner.id, '--name', 'ci'], { env: admin }));
      const m = /shown only this once[^\n]*\n(\S+)\n$/.exec(r.stdout);
      assert.ok(m, `secret line expected:\n${r.stdout}`);
      const secret = m[1];
      secrets.add(secret);
      const rows = table({ ...r, stdout: r.stdout.split('\n\n')[0] + '\n' });
      assert.deepEqual(Object.keys(rows[0]), ['ID', 'PRINCIPAL', 'NAME', 'PREFIX', 'CREATED', 'CREATED_BY']);
      assert.equal(rows[0].PRINCIPAL, owner.id);
      assert.equal(rows[0].NAME, 'ci');
      assert.ok(secret.startsWith(rows[0].PREFIX), `prefix ${rows[0].PREFIX} of the secret`);

      const list = jsonOut(await run(['api-key', 'list', '--principal', owner.id, '-o', 'json'], { env: admin }));
      assert.deepEqual(list, (await adminGet(`/admin/v1/api_keys?principalId=${owner.id}`)).apiKeys);
      assert.equal(list.length, 1);
      assert.equal(list[0].id, rows[0].ID);
      assert.ok(!('apikey' in list[0]));
      const trows = table(await run(['api-key', 'list'], { env: admin }));
      assert.ok(trows.some((x) => x.ID === rows[0].ID && x.PRINCIPAL === owner.id));
    });

    test('create (json) has "apikey" and the one-time notice on stderr; delete', async () => {
      const r = await run(['api-key', 'create', '--principal', owner.id, '--name', 'deploy', '-o', 'json'], { env: admin });
      const k = jsonOut(r);
      assert.equal(typeof k.apikey, 'string');
      assert.ok(k.apikey.length >= 20);
      secrets.add(k.apikey);
      assert.equal(k.principalId, owner.id);
      assert.match(r.stderr, /shown only this once/);

      assert.equal(ok(await run(['api-key', 'delete', k.id], { env: admin })).stdout, `Deleted API key ${k.id}.\n`);
      const list = jsonOut(await run(['api-key', 'list', '--principal', owner.id, '-o', 'json'], { env: admin }));
      assert.ok(!list.some((x) => x.id === k.id));
      failsWith(await run(['api-key', 'delete', k.id], { env: admin }), 'NOT_FOUND_ERR');
    });

    test('create for an unknown principal fails with the server\'s reason', async () => {
      failsWith(await run(['api-key', 'create', '--principal', 'user-nobody', '--name', 'x'], { env: admin }),
        /^keywarden: [A-Z_]+_ERR: /);
    });
  });

  describe('instance', () => {
    test('create (both modes), list, delete; deleting one with keys is INSTANCE_NOT_EMPTY_ERR', async () => {
      const i = jsonOut(await run(['instance', 'create', '--name', 'prod', '-o', 'json'], { env: admin }));
      assert.match(i.id, UUID_RE);
      assert.equal(i.name, 'prod');
      const t = await run(['instance', 'create', '--name', 'dev'], { env: admin });
      assert.deepEqual(headerOf(t), ['ID', 'NAME', 'CREATED', 'CREATED_BY']);
      const [dev] = table(t);
      assert.match(dev.ID, UUID_RE);

      const list = jsonOut(await run(['instance', 'list', '-o', 'json'], { env: admin }));
      assert.deepEqual(list, (await adminGet('/admin/v1/instances')).instances);
      assert.ok(list.some((x) => x.id === i.id) && list.some((x) => x.id === dev.ID));
      const rows = table(await run(['instance', 'list'], { env: admin }));
      assert.ok(rows.some((x) => x.ID === i.id && x.NAME === 'prod'));

      const created = await srv.request('POST', '/api/v2/keys', {
        instance: i.id, headers: { 'Content-Type': KEY_TYPE },
        body: keyEnvelope(keyResource({ name: 'k1' })),
      });
      assert.equal(created.status, 201, created.text);
      failsWith(await run(['instance', 'delete', i.id], { env: admin }), 'INSTANCE_NOT_EMPTY_ERR');

      assert.equal(ok(await run(['instance', 'delete', dev.ID], { env: admin })).stdout,
        `Deleted instance ${dev.ID}.\n`);
      const after = jsonOut(await run(['instance', 'list', '-o', 'json'], { env: admin }));
      assert.ok(!after.some((x) => x.id === dev.ID));
    });
  });

  describe('policy', () => {
    let user;
    let inst;
    before(async () => {
      user = jsonOut(await run(['user', 'create', '--name', 'pol-user', '-o', 'json'], { env: admin }));
      inst = jsonOut(await run(['instance', 'create', '--name', 'pol-inst', '-o', 'json'], { env: admin }));
    });

    test('create with several roles (json), on a key ring (table), list with filters, delete', async () => {
      const p = jsonOut(await run(['policy', 'create', '--principal', user.id, '--instance', inst.id,
        '--role', 'Reader', '--role', 'Writer', '-o', 'json'], { env: admin }));
      assert.equal(p.principalId, user.id);
      assert.equal(p.instanceId, inst.id);
      assert.equal(p.keyRingId, null);
      assert.equal(p.keyId, null);
      assert.deepEqual(p.roles, ['Reader', 'Writer']);

      const t = await run(['policy', 'create', '--principal', user.id, '--instance', inst.id,
        '--key-ring', 'ring-1', '--role', 'Manager'], { env: admin });
      assert.deepEqual(headerOf(t), ['ID', 'PRINCIPAL', 'INSTANCE', 'KEY_RING', 'KEY', 'ROLES', 'CREATED']);
      const [row] = table(t);
      assert.equal(row.KEY_RING, 'ring-1');
      assert.equal(row.KEY, '-');
      assert.equal(row.ROLES, 'Manager');

      const list = jsonOut(await run(['policy', 'list', '--instance', inst.id, '--principal', user.id, '-o', 'json'],
        { env: admin }));
      assert.deepEqual(list,
        (await adminGet(`/admin/v1/policies?instanceId=${inst.id}&principalId=${user.id}`)).policies);
      assert.deepEqual(list.map((x) => x.id).sort(), [p.id, row.ID].sort());
      const rows = table(await run(['policy', 'list', '--instance', inst.id], { env: admin }));
      assert.ok(rows.some((x) => x.ID === p.id && x.ROLES === 'Reader,Writer'));

      assert.equal(ok(await run(['policy', 'delete', p.id], { env: admin })).stdout, `Deleted policy ${p.id}.\n`);
      const after = jsonOut(await run(['policy', 'list', '--principal', user.id, '-o', 'json'], { env: admin }));
      assert.deepEqual(after.map((x) => x.id), [row.ID]);
    });

    test('--key-ring with --key, or no --role, is a usage error (exit 2)', async () => {
      usage(await run(['policy', 'create', '--principal', user.id, '--instance', inst.id,
        '--key-ring', 'r', '--key', 'k', '--role', 'Reader'], { env: admin }));
      usage(await run(['policy', 'create', '--principal', user.id, '--instance', inst.id], { env: admin }));
    });

    test('an unknown role is the server\'s error (exit 1)', async () => {
      failsWith(await run(['policy', 'create', '--principal', user.id, '--instance', inst.id,
        '--role', 'Overlord'], { env: admin }), /^keywarden: [A-Z_]+_ERR: /);
    });
  });

  describe('authorization', () => {
    let inst;
    let sid;
    before(async () => {
      inst = jsonOut(await run(['instance', 'create', '--name', 'auth-inst', '-o', 'json'], { env: admin }));
      sid = jsonOut(await run(['service-id', 'create', '--name', 'auth-sid', '--service-type', 'databases',
        '-o', 'json'], { env: admin }));
    });

    test('create by type (json, default role Reader) and by id (table), list, delete', async () => {
      const a = jsonOut(await run(['authorization', 'create', '--source-service-type', 'object-storage',
        '--instance', inst.id, '-o', 'json'], { env: admin }));
      assert.equal(a.sourceServiceType, 'object-storage');
      assert.equal(a.instanceId, inst.id);
      assert.equal(a.role, 'Reader');
      assert.equal(a.keyRingId, null);
      assert.equal(a.keyId, null);

      const t = await run(['authorization', 'create', '--source-service-id', sid.id, '--instance', inst.id,
        '--key-ring', 'ring-2', '--role', 'Writer'], { env: admin });
      assert.deepEqual(headerOf(t), ['ID', 'SOURCE_SERVICE_ID', 'SOURCE_SERVICE_TYPE', 'INSTANCE', 'KEY_RING', 'KEY',
        'ROLE', 'CREATED']);
      const [row] = table(t);
      assert.equal(row.SOURCE_SERVICE_ID, sid.id);
      assert.equal(row.KEY_RING, 'ring-2');
      assert.equal(row.ROLE, 'Writer');

      const list = jsonOut(await run(['authorization', 'list', '--instance', inst.id, '-o', 'json'], { env: admin }));
      assert.deepEqual(list, (await adminGet(`/admin/v1/authorizations?instanceId=${inst.id}`)).authorizations);
      assert.deepEqual(list.map((x) => x.id).sort(), [a.id, row.ID].sort());
      const rows = table(await run(['authorization', 'list'], { env: admin }));
      assert.ok(rows.some((x) => x.ID === a.id && x.SOURCE_SERVICE_TYPE === 'object-storage'));

      assert.equal(ok(await run(['authorization', 'delete', a.id], { env: admin })).stdout,
        `Deleted authorization ${a.id}.\n`);
      const after = jsonOut(await run(['authorization', 'list', '--instance', inst.id, '-o', 'json'], { env: admin }));
      assert.deepEqual(after.map((x) => x.id), [row.ID]);
    });

    test('exactly one source is required (exit 2 otherwise)', async () => {
      usage(await run(['authorization', 'create', '--instance', inst.id], { env: admin }));
      usage(await run(['authorization', 'create', '--source-service-id', sid.id, '--source-service-type', 'x',
        '--instance', inst.id], { env: admin }));
    });
  });

  describe('login and the token cache', () => {
    let opsKey;  // API key of an administrator user
    let plainKey;  // API key of a user without roles
    before(async () => {
      const ops = jsonOut(await run(['user', 'create', '--name', 'ops', '--admin', '-o', 'json'], { env: admin }));
      opsKey = jsonOut(await run(['api-key', 'create', '--principal', ops.id, '--name', 'laptop', '-o', 'json'],
        { env: admin })).apikey;
      secrets.add(opsKey);
      const plain = jsonOut(await run(['user', 'create', '--name', 'plain', '-o', 'json'], { env: admin }));
      plainKey = jsonOut(await run(['api-key', 'create', '--principal', plain.id, '--name', 'k', '-o', 'json'],
        { env: admin })).apikey;
      secrets.add(plainKey);
    });

    function readCache(file) {
      const st = fs.statSync(file);
      const data = JSON.parse(fs.readFileSync(file, 'utf8'));
      secrets.add(data.access_token);
      return { mode: st.mode & 0o777, data };
    }

    test('--apikey: saves {addr, access_token, expiration} in ~/.config/keywarden/token.json (0600, dir 0700)',
      async () => {
        const home = freshHome();
        const r = ok(await run(['login', '--apikey', opsKey, '--addr', srv.url], { home }));
        assert.match(r.stdout, /^Logged in to http:\/\/127\.0\.0\.1:\d+ until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
        const file = path.join(home, '.config', 'keywarden', 'token.json');
        const { mode, data } = readCache(file);
        assert.equal(mode, 0o600);
        assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
        assert.equal(data.addr, srv.url);
        assert.equal(data.access_token.split('.').length, 3);
        assert.ok(data.expiration > Date.now() / 1000 + 60, JSON.stringify(data.expiration));
        assert.deepEqual(fs.readdirSync(path.dirname(file)), ['token.json']);

        // Later commands use it without KEYWARDEN_TOKEN.
        const list = jsonOut(await run(['user', 'list', '-o', 'json'], { home, env: { KEYWARDEN_ADDR: srv.url } }));
        assert.ok(list.some((p) => p.name === 'ops'));

        // Logging in again replaces the file atomically (a new inode, still 0600).
        const inode = fs.statSync(file).ino;
        ok(await run(['login', '--addr', srv.url], { home, env: { KEYWARDEN_APIKEY: opsKey } }));
        assert.notEqual(fs.statSync(file).ino, inode);
        assert.equal(readCache(file).mode, 0o600);
      });

    test('XDG_CONFIG_HOME is honoured; json output has no token', async () => {
      const home = freshHome();
      const xdg = path.join(home, 'xdg');
      const out = jsonOut(await run(['login', '-o', 'json'], {
        home, env: { XDG_CONFIG_HOME: xdg, KEYWARDEN_APIKEY: opsKey, KEYWARDEN_ADDR: srv.url },
      }));
      const file = path.join(xdg, 'keywarden', 'token.json');
      assert.deepEqual(Object.keys(out).sort(), ['addr', 'expiration', 'tokenFile']);
      assert.equal(out.tokenFile, file);
      assert.equal(readCache(file).mode, 0o600);
      assert.ok(!fs.existsSync(path.join(home, '.config')));
      ok(await run(['instance', 'list'], { home, env: { XDG_CONFIG_HOME: xdg, KEYWARDEN_ADDR: srv.url } }));
    });

    test('a wrong API key: exit 1 with UNAUTHORIZED_ERR, nothing saved', async () => {
      const home = freshHome();
      const wrong = 'kwk_00000000wrongwrongwrongwrongwrong';
      secrets.add(wrong);
      failsWith(await run(['login', '--apikey', wrong, '--addr', srv.url], { home }), 'UNAUTHORIZED_ERR');
      assert.ok(!fs.existsSync(path.join(home, '.config', 'keywarden', 'token.json')));
    });

    test('no API key and no terminal: usage error (exit 2)', async () => {
      usage(await run(['login', '--addr', srv.url]));
    });

    test('an expired saved token: exit 1, told to log in again', async () => {
      const home = freshHome();
      ok(await run(['login', '--apikey', opsKey, '--addr', srv.url], { home }));
      const file = path.join(home, '.config', 'keywarden', 'token.json');
      const { data } = readCache(file);
      data.expiration = Math.floor(Date.now() / 1000) - 10;
      fs.writeFileSync(file, JSON.stringify(data), { mode: 0o600 });
      const line = failsWith(await run(['user', 'list', '--addr', srv.url], { home }), /expired/);
      assert.match(line, /keywarden login/);
    });

    test('a saved token is sent only to the server it came from', async () => {
      const home = freshHome();
      ok(await run(['login', '--apikey', opsKey, '--addr', srv.url], { home }));
      const line = failsWith(await run(['user', 'list', '--addr', 'http://127.0.0.1:1'], { home }),
        /saved login is for/);
      assert.match(line, /keywarden login/);
    });

    test('a token file readable by others is not used', async () => {
      const home = freshHome();
      ok(await run(['login', '--apikey', opsKey, '--addr', srv.url], { home }));
      fs.chmodSync(path.join(home, '.config', 'keywarden', 'token.json'), 0o644);
      failsWith(await run(['user', 'list', '--addr', srv.url], { home }), /0644/);
    });

    test('no token anywhere: exit 1, told to log in (names the default address)', async () => {
      const line = failsWith(await run(['user', 'list']), /not logged in/);
      assert.match(line, /http:\/\/127\.0\.0\.1:8080/);
    });

    test('a principal without the admin role gets FORBIDDEN_ERR (exit 1)', async () => {
      const home = freshHome();
      ok(await run(['login', '--apikey', plainKey, '--addr', srv.url], { home }));
      failsWith(await run(['user', 'list', '--addr', srv.url], { home }), 'FORBIDDEN_ERR');
      failsWith(await run(['instance', 'create', '--name', 'nope', '--addr', srv.url], { home }), 'FORBIDDEN_ERR');
    });

    test('a saved token whose API key was deleted: exit 1, UNAUTHORIZED_ERR and told to log in again', async () => {
      const home = freshHome();
      const owner = jsonOut(await run(['user', 'create', '--name', 'leaver', '--admin', '-o', 'json'], { env: admin }));
      const key = jsonOut(await run(['api-key', 'create', '--principal', owner.id, '--name', 'old', '-o', 'json'],
        { env: admin }));
      secrets.add(key.apikey);
      ok(await run(['login', '--apikey', key.apikey, '--addr', srv.url], { home }));
      readCache(path.join(home, '.config', 'keywarden', 'token.json'));
      ok(await run(['instance', 'list', '--addr', srv.url], { home }));
      ok(await run(['api-key', 'delete', key.id], { env: admin }));
      // docs/admin-api.md: tokens from a deleted key stop working within 1 s.
      let r;
      const deadline = Date.now() + 3000;
      do {
        r = await run(['instance', 'list', '--addr', srv.url], { home });
      } while (r.code === 0 && Date.now() < deadline);
      const line = failsWith(r, 'UNAUTHORIZED_ERR');
      assert.match(line, /run `keywarden login` again/);
    });

    test('precedence: --token over KEYWARDEN_TOKEN over the saved login', async () => {
      const home = freshHome();
      ok(await run(['login', '--apikey', plainKey, '--addr', srv.url], { home }));  // saved: not an admin
      const env = { KEYWARDEN_ADDR: srv.url };
      // The environment's admin token beats the saved non-admin login.
      ok(await run(['user', 'list'], { home, env: { ...env, KEYWARDEN_TOKEN: srv.token } }));
      // A flag beats the environment, both ways. (A JWT the server did not
      // sign, so the refusal is UNAUTHORIZED_ERR whatever the server's view
      // of non-JWT bearer values.)
      const forged = forgedJwt();
      ok(await run(['user', 'list', '--token', srv.token], { home, env: { ...env, KEYWARDEN_TOKEN: forged } }));
      failsWith(await run(['user', 'list', '--token', forged], { home, env: { ...env, KEYWARDEN_TOKEN: srv.token } }),
        'UNAUTHORIZED_ERR');
    });
  });

  describe('addresses, flags and exit codes', () => {
    test('--addr beats KEYWARDEN_ADDR, both ways', async () => {
      ok(await run(['instance', 'list', '--addr', srv.url],
        { env: { KEYWARDEN_TOKEN: srv.token, KEYWARDEN_ADDR: 'http://127.0.0.1:1' } }));
      failsWith(await run(['instance', 'list', '--addr', 'http://127.0.0.1:1'], { env: admin }),
        /^keywarden: cannot connect to http:\/\/127\.0\.0\.1:1/);
    });

    test('a JWT-shaped token the server did not sign: UNAUTHORIZED_ERR', async () => {
      failsWith(await run(['user', 'list', '--token', forgedJwt()], { env: { KEYWARDEN_ADDR: srv.url } }),
        'UNAUTHORIZED_ERR');
    });

    test('usage errors exit 2', async () => {
      usage(await run(['no-such-command'], { env: admin }));
      usage(await run(['user'], { env: admin }));
      usage(await run(['user', 'create'], { env: admin }));
      usage(await run(['user', 'delete'], { env: admin }));
      usage(await run(['user', 'list', '--output', 'yaml'], { env: admin }));
      usage(await run(['user', 'list', '--addr', 'ftp://x'], { env: admin }));
      usage(await run(['user', 'list'], { env: { ...admin, KEYWARDEN_ADDR: '127.0.0.1:8080' } }));
    });

    test('--help exits 0 and lists the commands', async () => {
      const r = ok(await run(['--help']));
      for (const c of ['login', 'user', 'service-id', 'api-key', 'instance', 'policy', 'authorization', 'server']) {
        assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
      }
      ok(await run(['policy', 'create', '--help']));
    });
  });
});

describe('keywarden CLI over TLS', () => {
  const certFile = path.join(tmp, 'cert.pem');
  const keyFile = path.join(tmp, 'key.pem');
  const srv = new KeywardenServer({ args: ['--tls-cert', certFile, '--tls-key', keyFile] });
  // These tests need no default instance; a preset one keeps the harness
  // from creating it with fetch(), which rejects the self-signed certificate.
  srv.instance = srv.instance || crypto.randomUUID();
  before(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    await srv.start();
    secrets.add(srv.token);
  });
  after(() => srv.cleanup());

  test('an untrusted certificate fails with a hint; --insecure and KEYWARDEN_INSECURE=1 skip verification', async () => {
    const env = { KEYWARDEN_ADDR: srv.url, KEYWARDEN_TOKEN: srv.token };
    const line = failsWith(await run(['instance', 'list'], { env }), /not trusted/);
    assert.match(line, /--insecure/);
    ok(await run(['instance', 'list', '--insecure'], { env }));
    ok(await run(['instance', 'list'], { env: { ...env, KEYWARDEN_INSECURE: '1' } }));
  });

  test('a trusted certificate (SSL_CERT_FILE) verifies, including its IP address', async () => {
    const env = { KEYWARDEN_TOKEN: srv.token, SSL_CERT_FILE: certFile };
    ok(await run(['instance', 'list', '--addr', srv.url], { env }));
    // Same server and certificate, another name: host name verification fails.
    const port = new URL(srv.url).port;
    failsWith(await run(['instance', 'list', '--addr', `https://localhost:${port}`], { env }), /not trusted/);
  });
});
