'use strict';
// The Clevis pin's edges, with the real clevis and jose: bad configuration
// and missing or unsafe credentials give a clear message and no output;
// KEYWARDEN_APIKEY stands in for apikey_file; no key, API key or secret is
// ever a process argument; a wrong API key, an unreachable server and an
// altered JWE are refused.

const { describe, test, before } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { useServer, binaryPath } = require('../lib/server');
const { createRootKey } = require('../lib/kp');
const { identities } = require('../lib/identity');
const { PinDir, protectedHeader, requireTools } = require('./pin');

describe('clevis pin keywarden: configuration and credentials', () => {
  const srv = useServer();
  const pin = new PinDir();
  let key; let service; let base;
  const secret = crypto.randomBytes(32);

  before(async () => {
    requireTools();
    key = await createRootKey(srv, { name: 'pin-edges' });
    service = await identities(srv).service('pin-edges', { serviceType: 'databases-for-postgresql' });
    base = { url: srv.url, instance: srv.instance, key: key.id };
  });

  async function refusedEncrypt(config, says, env) {
    const r = await pin.encrypt(config, secret, { env });
    assert.notEqual(r.status, 0, `accepted: ${JSON.stringify(config)}`);
    assert.equal(r.stdout.length, 0, 'a JWE despite the failure');
    assert.ok(r.stderr.includes(says), `expected "${says}" in: ${r.stderr}`);
    assert.ok(!r.stderr.includes(service.apikey), 'the API key in a message');
    return r;
  }

  test('a configuration it cannot use is refused with the reason', async () => {
    const file = pin.apikeyFile(service.apikey);
    await refusedEncrypt('{"url":', 'the configuration is not a JSON object');
    await refusedEncrypt({ instance: srv.instance, key: key.id, apikey_file: file }, 'has no "url" member');
    await refusedEncrypt({ ...base, apikey_file: file, apikey: 'x' }, 'unknown member "apikey"');
    await refusedEncrypt({ ...base, apikey_file: 'apikey' }, '"apikey_file" must be an absolute path');
    await refusedEncrypt({ ...base, apikey_file: file, key: 'no-such-key' }, 'cannot wrap with key no-such-key');
  });

  test('credentials: none, a group-readable file, a wrong key are refused', async () => {
    await refusedEncrypt(base, 'no API key');
    const loose = pin.apikeyFile(service.apikey, 'apikey-0644', 0o644);
    await refusedEncrypt({ ...base, apikey_file: loose }, 'is readable by group or others');
    const wrong = pin.apikeyFile(`${service.apikey.slice(0, -4)}AAAA`, 'apikey-wrong');
    await refusedEncrypt({ ...base, apikey_file: wrong }, 'cannot wrap with key');
  });

  test('KEYWARDEN_APIKEY stands in for apikey_file, at encrypt and at decrypt', async () => {
    const env = { KEYWARDEN_APIKEY: service.apikey };
    const enc = await pin.encrypt(base, secret, { env });
    assert.equal(enc.status, 0, enc.stderr);
    assert.equal(protectedHeader(enc.stdout).clevis.keywarden.apikey_file, undefined);
    const dec = await pin.decrypt(enc.stdout, { env });
    assert.equal(dec.status, 0, dec.stderr);
    assert.ok(dec.stdout.equals(secret));
    const without = await pin.decrypt(enc.stdout);
    assert.notEqual(without.status, 0);
    assert.match(without.stderr, /keywarden clevis-pin: no API key/);
  });

  test('no secret is ever an argument of jose or keywarden', async () => {
    const log = path.join(pin.dir, 'argv.log');
    pin.recordArgs('jose', spawnSync('sh', ['-c', 'command -v jose']).stdout.toString().trim(), log);
    pin.recordArgs('keywarden', binaryPath(), log);
    try {
      const file = pin.apikeyFile(service.apikey);
      const enc = await pin.encrypt({ ...base, apikey_file: file }, secret);
      assert.equal(enc.status, 0, enc.stderr);
      const dec = await pin.decrypt(enc.stdout);
      assert.equal(dec.status, 0, dec.stderr);
      assert.ok(dec.stdout.equals(secret));
      const args = fs.readFileSync(log, 'utf8');
      assert.match(args, /^keywarden\nclevis-pin\nwrap\n/m, 'the log records the calls');
      assert.match(args, /^jose\njwe\nenc\n/m);
      assert.match(args, /^jose\njwe\ndec\n/m);
      assert.ok(!/"k"\s*:/.test(args), 'a JWK (its "k") was an argument');
      assert.ok(!args.includes(service.apikey), 'the API key was an argument');
      for (const form of ['base64', 'base64url', 'hex']) {
        assert.ok(!args.includes(secret.toString(form)), `the secret (${form}) was an argument`);
      }
    } finally {
      fs.rmSync(path.join(pin.dir, 'jose'));
      fs.rmSync(path.join(pin.dir, 'keywarden'));
      fs.symlinkSync(binaryPath(), path.join(pin.dir, 'keywarden'));
    }
  });

  test('an unreachable server is named in the message', async () => {
    const file = pin.apikeyFile(service.apikey);
    await refusedEncrypt({ ...base, url: 'http://127.0.0.1:1', apikey_file: file }, 'cannot wrap with key');
  });

  test('a JWE whose header was altered does not decrypt', async () => {
    const file = pin.apikeyFile(service.apikey);
    const enc = await pin.encrypt({ ...base, apikey_file: file }, secret);
    assert.equal(enc.status, 0, enc.stderr);
    const parts = enc.stdout.toString().trim().split('.');
    const hdr = protectedHeader(enc.stdout);
    // Another WDEK of the same key: the unwrap works, the JWE's tag does not.
    const other = await pin.encrypt({ ...base, apikey_file: file }, secret);
    hdr.clevis.keywarden.wdek = protectedHeader(other.stdout).clevis.keywarden.wdek;
    parts[0] = Buffer.from(JSON.stringify(hdr)).toString('base64url');
    const dec = await pin.decrypt(parts.join('.'));
    assert.notEqual(dec.status, 0);
    // jose jwe dec streams: it has written the (wrong) plaintext when the tag
    // check fails, so only the exit status tells (as clevis luks reads it).
    assert.ok(!dec.stdout.equals(secret));
  });
});
