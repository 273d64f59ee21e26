'use strict';
// A webhook receiver for lifecycle events (docs/api.md "Lifecycle events"):
// node:http on 127.0.0.1, records every request, answers `status` (200 by
// default; failWith(500) makes deliveries fail), and can be stopped and
// started again on the same port (deliveries then fail with a refused
// connection). waitFor() polls what arrived with a bounded deadline: events
// are delivered asynchronously, so a test may only wait for them, never
// sleep for a timer.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const http = require('node:http');

const POLL_MS = 25;
const DEFAULT_WAIT_MS = 10000;

class WebhookReceiver {
  constructor({ path = '/kms-events' } = {}) {
    this.path = path;
    this.port = 0;
    this.status = 200;
    this.requests = [];   // {method, url, headers, body, json, answered, at}
    this.server = null;
    this.sockets = new Set();
  }

  get url() { return `http://127.0.0.1:${this.port}${this.path}`; }

  start() {
    return new Promise((resolve, reject) => {
      const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          let json;
          try { json = JSON.parse(body); } catch { json = undefined; }
          const answered = this.status;
          this.requests.push({ method: req.method, url: req.url, headers: req.headers, body, json,
                               answered, at: Date.now() });
          res.writeHead(answered, { 'Content-Type': 'text/plain' });
          res.end(answered < 300 ? 'ok' : 'fail');
        });
      });
      server.on('connection', (s) => {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        this.port = server.address().port;
        this.server = server;
        resolve(this.url);
      });
    });
  }

  stop() {
    const server = this.server;
    this.server = null;
    if (!server) return Promise.resolve();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  failWith(status) { this.status = status; }
  succeed() { this.status = 200; }

  // Requests answered 2xx (the deliveries the server counts as delivered).
  delivered() { return this.requests.filter((r) => r.answered < 300); }

  // Event bodies received, optionally only those matching `pred`.
  events(pred = () => true) {
    return this.requests.filter((r) => r.json && pred(r.json, r));
  }

  // Resolves with the requests once `pred(request list)` is truthy; fails
  // after `timeoutMs` with what did arrive.
  async waitFor(pred, { timeoutMs = DEFAULT_WAIT_MS, what = 'webhook requests' } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pred(this.requests);
      if (v) return v;
      if (Date.now() > deadline) {
        assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}; received ` +
                    `${this.requests.length}: ${JSON.stringify(this.requests.map((r) => r.json || r.body)).slice(0, 3000)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  // Waits for `n` event requests matching `pred` (counted since `since`,
  // an index into this.requests) and returns them.
  async waitForEvents(pred, { n = 1, since = 0, ...opts } = {}) {
    return this.waitFor((reqs) => {
      const m = reqs.slice(since).filter((r) => r.json && pred(r.json, r));
      return m.length >= n ? m : null;
    }, opts);
  }
}

// Starts a receiver now and stops it when the file's tests end.
async function startReceiver(opts) {
  const r = new WebhookReceiver(opts);
  await r.start();
  return r;
}

// Checks Keywarden-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
// of one recorded request; returns {t, v1}.
function verifySignature(request, secret) {
  const header = request.headers['keywarden-signature'];
  assert.ok(header, `no Keywarden-Signature: ${JSON.stringify(request.headers)}`);
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  assert.ok(m, `malformed Keywarden-Signature: ${header}`);
  const expected = crypto.createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${m[1]}.${request.body}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(m[2], 'hex')),
            `bad signature ${header} for body ${request.body}`);
  return { t: Number(m[1]), v1: m[2] };
}

module.exports = { WebhookReceiver, startReceiver, verifySignature };
