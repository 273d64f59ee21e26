// Derives the WDEK golden vectors (formats 1 and 2) of docs/formats/wdek.md
// independently of the C++ code (Node's crypto), so envelope_test.cc checks the format
// against a second implementation. Run: node tests/kat/wdek_vectors.js
'use strict';
const crypto = require('crypto');

function field(buf) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}
function aadOf(instance, key, version, items) {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(items.length);
  return Buffer.concat([
    field(Buffer.from('keywarden/wdek/v1')), field(Buffer.from(instance)),
    field(Buffer.from(key)), field(Buffer.from(version)), count,
    ...items.map((i) => field(Buffer.from(i))),
  ]);
}
function wdek(v) {
  const c = crypto.createCipheriv('aes-256-gcm', v.kek, v.nonce);
  c.setAAD(aadOf(v.instance, v.key, v.version, v.aad));
  const ct = Buffer.concat([c.update(v.dek), c.final(), c.getAuthTag()]);
  const versionBytes = Buffer.from(v.version.replace(/-/g, ''), 'hex');
  return Buffer.concat([Buffer.from([1]), versionBytes, v.nonce, ct]);
}

const kek = Buffer.from([...Array(32).keys()]);
const nonce = Buffer.from([...Array(12).keys()]);
const vectors = [
  {
    name: 'generated 32-byte DEK, no aad', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    dek: Buffer.alloc(32, 0x42), aad: [],
  },
  {
    name: '7-byte DEK, two aad items, later version', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: '0f0e0d0c-0b0a-4908-8706-050403020100',
    dek: Buffer.from('abcdefg'), aad: ['ctx-1', 'ctx-2'],
  },
  {
    name: 'aad items that would collide if concatenated', kek, nonce,
    instance: '11111111-2222-4333-8444-555555555555',
    key: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    version: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    dek: Buffer.alloc(16, 0x00), aad: ['ab', 'c'],
  },
];
for (const v of vectors) {
  console.log(`v1 ${v.name}: ${wdek(v).toString('base64')}`);
}

// Format 2 (docs/formats/wdek.md "Version 2"): a key derived per wrap with
// HKDF-SHA256 from the material and the WDEK's salt; the AAD binds the
// material's fingerprint and the aad list, no ids. Node's hkdfSync does the
// whole of RFC 5869 (extract with the label as salt, then expand).
const V2_LABEL = Buffer.from('keywarden/wdek/v2');
function fingerprintOf(material) {
  return Buffer.from(crypto.hkdfSync('sha256', material, V2_LABEL,
                                     Buffer.from('keywarden/wdek/v2 fingerprint'), 16));
}
function aadV2(fingerprint, items) {
  const count = Buffer.alloc(4);
  count.writeUInt32BE(items.length);
  return Buffer.concat([field(V2_LABEL), fingerprint, count, ...items.map((i) => field(Buffer.from(i)))]);
}
function wdekV2(v) {
  const fp = fingerprintOf(v.material);
  const info = Buffer.concat([Buffer.from('keywarden/wdek/v2 key'), v.salt]);
  const key = Buffer.from(crypto.hkdfSync('sha256', v.material, V2_LABEL, info, 32));
  const c = crypto.createCipheriv('aes-256-gcm', key, v.nonce);
  c.setAAD(aadV2(fp, v.aad));
  const ct = Buffer.concat([c.update(v.dek), c.final(), c.getAuthTag()]);
  return Buffer.concat([Buffer.from([2]), fp, v.salt, v.nonce, ct]);
}

const salt = Buffer.from([...Array(32).keys()].map((i) => 0x20 + i));
const vectorsV2 = [
  { name: '256-bit material, 32-byte DEK, no aad', material: kek, salt, nonce,
    dek: Buffer.alloc(32, 0x42), aad: [] },
  { name: '256-bit material, 7-byte DEK, two aad items', material: kek, salt, nonce,
    dek: Buffer.from('abcdefg'), aad: ['ctx-1', 'ctx-2'] },
  { name: '128-bit imported material, aad items that would collide if concatenated',
    material: kek.subarray(0, 16), salt, nonce, dek: Buffer.alloc(16, 0x00), aad: ['ab', 'c'] },
];
for (const v of vectorsV2) {
  console.log(`v2 ${v.name}: fingerprint ${fingerprintOf(v.material).toString('hex')} ` +
              `wdek ${wdekV2(v).toString('base64')}`);
}
