'use strict';
// The seed's walkthrough for Cloud Object Storage, end to end with the real
// binary on both sides (docs/integrations/object-storage.md): a service id
// of type cloud-object-storage, authorized Reader on an instance, encrypts
// objects with `keywarden encrypt` under a customer's root key and registers
// the bucket; then the customer disables, enables, rotates and deletes the
// key, and the objects follow. Also: what `keywarden decrypt` leaves behind
// when an object was damaged (docs/formats/envelope.md).

const { test, beforeEach, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { useServer, binaryPath } = require('../lib/server');
const { createRootKey, metadataOf, action, expectStatus } = require('../lib/kp');
const { identities } = require('../lib/identity');

const HOUR = 3600;
const srv = useServer({ args: ['--test-clock'] });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'keywarden-cos-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BUCKET_CRN = 'crn:v1:keywarden:private:cloud-object-storage:local:a/acct:cos-1:bucket:photos';

let ids; let instance; let key; let cos; let purger;

// Runs the CLI with only what the integration has: the address, the
// instance and the service id's API key. Resolves {code, stdout (Buffer),
// stderr}.
function kw(args, { input, env = {} } = {}) {
  const fullEnv = {
    PATH: process.env.PATH,
    HOME: tmp,
    KEYWARDEN_APIKEY: cos.apikey,
    ASAN_OPTIONS: process.env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=1',
    UBSAN_OPTIONS: process.env.UBSAN_OPTIONS || 'print_stacktrace=1:halt_on_error=1',
    ...env,
  };
  for (const [k, v] of Object.entries(fullEnv)) if (v === undefined) delete fullEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath(), args, {
      env: fullEnv, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = [];
    let stderr = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    if (input !== undefined) {
      child.stdin.on('error', () => {});  // the command may stop reading early
      child.stdin.end(input);
    }
  });
}

const common = () => ['--addr', srv.url, '--instance', instance];
const encrypt = (inp, out, extra = [], opts) =>
  kw(['encrypt', ...common(), '--key', key.id, ...extra, inp, out], opts);
const decrypt = (inp, out, extra = [], opts) => kw(['decrypt', ...common(), ...extra, inp, out], opts);

function ok(res, what) {
  assert.equal(res.code, 0, `${what}: exit ${res.code}, stderr: ${res.stderr}`);
}

function file(name, bytes) {
  const p = path.join(tmp, name);
  if (bytes !== undefined) fs.writeFileSync(p, bytes);
  return p;
}

// The names in tmp that are not `known`: a failed decrypt leaves none.
function strayFiles(known) {
  return fs.readdirSync(tmp).filter((n) => !known.includes(n));
}

// The key version id an object's header names (docs/formats/envelope.md).
function headerVersion(bytes) {
  assert.equal(bytes.subarray(0, 4).toString(), 'KWEN');
  let pos = 17;
  const fieldAt = () => {
    const n = bytes.readUInt16BE(pos);
    const s = bytes.subarray(pos + 2, pos + 2 + n).toString();
    pos += 2 + n;
    return s;
  };
  const keyId = fieldAt();
  return { keyId, versionId: fieldAt() };
}

async function registrations() {
  const res = await srv.request('GET', `/api/v2/keys/${key.id}/registrations`, { instance });
  expectStatus(res, 200, 'list registrations');
  return (res.json.resources || []).map((r) => r.resourceCrn);
}

const data = crypto.randomBytes(3 * 65536 + 12345);
const photo = file('photo.jpg', data);

// 1. An instance, a root key, a service id of Cloud Object Storage's type
// with an API key, authorized Reader on the instance. Made once, by the
// first test (a root-level before() can run ahead of the harness's start
// hook).
let made;
beforeEach(() => {
  made = made || (async () => {
    ids = identities(srv);
    instance = await srv.createInstance('cos-walkthrough');
    key = await createRootKey(srv, { name: 'cos-root' }, { instance });
    cos = await ids.service('cos', { serviceType: 'cloud-object-storage', instance });
    purger = await ids.user('purger', ['KeyPurge'], { instance });
  })();
  return made;
});

test('1-3. encrypt and decrypt through the CLI; the key registers the bucket', async () => {
  const sealed = file('photo.jpg.kw');
  ok(await encrypt(photo, sealed, ['--aad', 'bucket=photos', '--aad', 'object=photo.jpg',
                                   '--register', BUCKET_CRN]), 'encrypt');
  const bytes = fs.readFileSync(sealed);
  assert.ok(!bytes.includes(data.subarray(0, 64)), 'the object holds no plaintext');
  assert.deepEqual(headerVersion(bytes), { keyId: key.id, versionId: key.id });

  const back = file('photo.out');
  ok(await decrypt(sealed, back), 'decrypt');
  assert.ok(fs.readFileSync(back).equals(data));
  assert.equal(fs.statSync(back).mode & 0o777, 0o600, 'plaintext is readable by its owner only');
  ok(await decrypt(sealed, back, ['--aad', 'object=photo.jpg', '--aad', 'bucket=photos']),
     'decrypt with the right --aad');
  const wrong = await decrypt(sealed, file('wrong-aad.out'), ['--aad', 'object=other.jpg',
                                                              '--aad', 'bucket=photos']);
  assert.equal(wrong.code, 1, wrong.stderr);
  assert.match(wrong.stderr, /aad is not the one given with --aad/);

  // Streaming through pipes, as with `aws s3 cp - s3://…`.
  const piped = await kw(['encrypt', ...common(), '--key', key.id, '-', '-'], { input: data });
  ok(piped, 'encrypt stdin → stdout');
  const unpiped = await kw(['decrypt', ...common(), '-', '-'], { input: piped.stdout });
  ok(unpiped, 'decrypt stdin → stdout');
  assert.ok(unpiped.stdout.equals(data));

  // 3. The registration names the protected resource.
  assert.deepEqual(await registrations(), [BUCKET_CRN]);
});

test('damaged objects: decrypt fails loudly and leaves no plaintext', async () => {
  const sealed = fs.readFileSync(file('photo.jpg.kw'));
  const known = fs.readdirSync(tmp);
  const cases = {
    truncated: sealed.subarray(0, sealed.length - 65552),
    appended: Buffer.concat([sealed, Buffer.from([0])]),
    flipped: Buffer.from(sealed.map((b, i) => (i === sealed.length - 70000 ? b ^ 1 : b))),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const inp = file(`${name}.kw`, bytes);
    known.push(`${name}.kw`);
    const out = file(`${name}.out`);
    const res = await decrypt(inp, out);
    assert.equal(res.code, 1, `${name}: ${res.stderr}`);
    assert.match(res.stderr, /decryption failed/, name);
    assert.ok(!fs.existsSync(out), `${name}: no output file`);
    assert.deepEqual(strayFiles(known), [], `${name}: no temporary file left`);

    // An existing OUT is left as it was.
    fs.writeFileSync(out, 'before');
    assert.equal((await decrypt(inp, out)).code, 1);
    assert.equal(fs.readFileSync(out, 'utf8'), 'before', name);
    fs.rmSync(out);

    const piped = await kw(['decrypt', ...common(), '-', '-'], { input: bytes });
    assert.equal(piped.code, 1, `${name} on stdout`);
    assert.match(piped.stderr, /incomplete: discard it/, name);
  }
  const notOurs = await decrypt(photo, file('x.out'));
  assert.equal(notOurs.code, 1);
  assert.match(notOurs.stderr, /not a keywarden envelope/);
});

test('4-5. disable: encrypt and decrypt fail with a clear message; enable: both work again', async () => {
  expectStatus(await action(srv, key.id, 'disable', undefined, { instance }), 204, 'disable');
  const known = fs.readdirSync(tmp);
  const dec = await decrypt(file('photo.jpg.kw'), file('disabled.out'));
  assert.equal(dec.code, 1, dec.stderr);
  assert.match(dec.stderr, new RegExp(`cannot unwrap the object's data key with root key ${key.id}: `));
  const enc = await encrypt(photo, file('disabled.kw'));
  assert.equal(enc.code, 1, enc.stderr);
  assert.match(enc.stderr, new RegExp(`cannot wrap the object's data key with root key ${key.id}: `));
  assert.deepEqual(strayFiles(known), []);

  // A key's state may change again 30 s after its last change.
  await ids.advance(31);
  expectStatus(await action(srv, key.id, 'enable', undefined, { instance }), 204, 'enable');
  ok(await decrypt(file('photo.jpg.kw'), file('enabled.out')), 'decrypt after enable');
  assert.ok(fs.readFileSync(file('enabled.out')).equals(data));
  ok(await encrypt(photo, file('enabled.kw')), 'encrypt after enable');
});

test('6. rotate: new objects use the new version; old objects still decrypt', async () => {
  expectStatus(await action(srv, key.id, 'rotate', undefined, { instance }), 204, 'rotate');
  const current = (await metadataOf(srv, key.id, { instance })).keyVersion.id;
  assert.notEqual(current, key.id);

  ok(await encrypt(photo, file('rotated.kw'), ['--register', BUCKET_CRN]), 'encrypt after rotate');
  assert.equal(headerVersion(fs.readFileSync(file('rotated.kw'))).versionId, current);
  assert.equal(headerVersion(fs.readFileSync(file('photo.jpg.kw'))).versionId, key.id);
  for (const name of ['rotated.kw', 'photo.jpg.kw']) {
    const out = file(`${name}.out`);
    ok(await decrypt(file(name), out), `decrypt ${name}`);
    assert.ok(fs.readFileSync(out).equals(data));
  }
  assert.deepEqual(await registrations(), [BUCKET_CRN]);
});

test('7. delete: the objects can no longer be decrypted; after the purge, never again', async () => {
  // The bucket's registration protects the key: a plain delete is refused.
  const refused = await srv.request('DELETE', `/api/v2/keys/${key.id}`, { instance });
  expectStatus(refused, 409, 'delete with a registration');
  const del = await srv.request('DELETE', `/api/v2/keys/${key.id}?force=true`, { instance });
  assert.ok(del.status === 200 || del.status === 204, `force delete: ${del.status} ${del.text}`);

  for (const name of ['photo.jpg.kw', 'rotated.kw']) {
    const out = file(`${name}.deleted`);
    const res = await decrypt(file(name), out);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`cannot unwrap the object's data key with root key ${key.id}: `));
    assert.ok(!fs.existsSync(out));
  }

  // Purge (KeyPurge, 4 h after the deletion): the material is gone, and no
  // restore can bring the objects back.
  await ids.advance(4 * HOUR + 1);
  const purged = await purger.req('DELETE', `/keys/${key.id}/purge`, { instance });
  expectStatus(purged, 200, 'purge');
  const res = await decrypt(file('photo.jpg.kw'), file('purged.out'));
  assert.equal(res.code, 1);
  assert.match(res.stderr, /cannot unwrap the object's data key/);
  assert.ok(!fs.existsSync(file('purged.out')));
});
