// Derives the envelope golden vectors of docs/formats/envelope.md
// independently of the C++ code (Node's crypto), so envelope_format_test.cc
// checks the format against a second implementation.
// Run: node tests/kat/envelope_vectors.js
'use strict';
const crypto = require('crypto');

const SEGMENT = 64 * 1024;

function u16(n) { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function field(s) { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u16(b.length), b]); }

function header(v) {
  const body = Buffer.concat([
    v.prefix, field(v.keyId), field(v.versionId), field(v.wdek), u16(v.aad.length),
    ...v.aad.flatMap(([k, val]) => [field(k), field(val)]),
  ]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(9 + body.length);
  return Buffer.concat([Buffer.from('KWEN'), Buffer.from([1]), len, body]);
}

function envelope(v, plaintext) {
  const h = header(v);
  const digest = crypto.createHash('sha256').update(h).digest();
  const parts = [h];
  const count = Math.max(1, Math.ceil(plaintext.length / SEGMENT));
  for (let i = 0; i < count; i++) {
    const last = i === count - 1;
    const nonce = Buffer.concat([v.prefix, Buffer.alloc(4)]);
    nonce.writeUInt32BE(i, 8);
    const c = crypto.createCipheriv('aes-256-gcm', v.dek, nonce);
    c.setAAD(Buffer.concat([digest, Buffer.from([last ? 1 : 0])]));
    parts.push(c.update(plaintext.subarray(i * SEGMENT, (i + 1) * SEGMENT)), c.final(), c.getAuthTag());
  }
  return Buffer.concat(parts);
}

function pattern(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + 3) & 0xff;
  return b;
}

const v = {
  dek: Buffer.from([...Array(32).keys()]),
  prefix: Buffer.from([0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7]),
  keyId: '8f4e3c2a-1b6d-4e9f-a0b1-c2d3e4f5a6b7',
  versionId: '8f4e3c2a-1b6d-4e9f-a0b1-c2d3e4f5a6b7',
  wdek: 'AgABAgMEBQYHCAkKCwwNDg8=',
  aad: [['bucket', 'photos'], ['object', '2026/cat.jpg']],
};

console.log('header       ', header(v).toString('hex'));
console.log('empty        ', envelope(v, Buffer.alloc(0)).toString('hex'));
console.log('hello        ', envelope(v, Buffer.from('hello, envelope\n')).toString('hex'));
for (const n of [SEGMENT, 2 * SEGMENT + 100]) {
  const e = envelope(v, pattern(n));
  console.log(`pattern(${n}) size ${e.length} sha256 ${crypto.createHash('sha256').update(e).digest('hex')}`);
}
