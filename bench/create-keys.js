'use strict';
// Creates N root keys through CONCURRENCY keep-alive connections and prints a
// one-line summary (KWKEYS ...) for bench/keys.sh.
//   node bench/create-keys.js URL TOKEN INSTANCE [N=100000] [CONCURRENCY=32]

const http = require('node:http');

const [url, token, instance, nArg, cArg] = process.argv.slice(2);
const N = Number(nArg || 100000);
const C = Number(cArg || 32);
if (!url || !token || !instance) {
  console.error('usage: node bench/create-keys.js URL TOKEN INSTANCE [N] [CONCURRENCY]');
  process.exit(2);
}
const target = new URL('/api/v2/keys', url);
const agent = new http.Agent({ keepAlive: true, maxSockets: C });

function createOne(i) {
  const body = Buffer.from(JSON.stringify({
    metadata: { collectionType: 'application/vnd.ibm.kms.key+json', collectionTotal: 1 },
    resources: [{ type: 'application/vnd.ibm.kms.key+json', name: `bench-key-${i}`, extractable: false }],
  }));
  return new Promise((resolve, reject) => {
    const req = http.request(target, {
      method: 'POST', agent,
      headers: {
        Authorization: `Bearer ${token}`, 'Bluemix-Instance': instance,
        'Content-Type': 'application/vnd.ibm.kms.key+json', 'Content-Length': body.length,
        Prefer: 'return=minimal',
      },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  let next = 0;
  let ok = 0;
  const failures = new Map();
  const lat = [];
  const t0 = process.hrtime.bigint();
  let lastReport = Date.now();
  await Promise.all(Array.from({ length: C }, async () => {
    while (next < N) {
      const i = next++;
      const s = process.hrtime.bigint();
      const status = await createOne(i);
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (status === 201) ok += 1;
      else failures.set(status, (failures.get(status) || 0) + 1);
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        process.stderr.write(`  ${ok} keys created...\n`);
      }
    }
  }));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  lat.sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.floor(p / 100 * lat.length))].toFixed(3);
  const fails = [...failures].map(([s, n]) => `${s}:${n}`).join(',') || 'none';
  console.log(`KWKEYS created=${ok} seconds=${secs.toFixed(2)} rate=${(ok / secs).toFixed(1)} ` +
              `p50_ms=${pct(50)} p99_ms=${pct(99)} concurrency=${C} failures=${fails}`);
  agent.destroy();
  if (ok !== N) process.exit(1);
}

main().catch((err) => { console.error(err); process.exit(1); });
