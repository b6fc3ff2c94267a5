// Shared helpers for the end-to-end tests: start `vireo serve` on a fixture
// model (loopback, port 0: the bound port is read from its log), raw HTTP.
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const path = require('node:path');
const fs = require('node:fs');

const BIN = process.env.VIREO_BIN;
const MODELS = process.env.VIREO_MODELS_DIR;

function modelPath(preset) {
  const p = path.join(MODELS, preset);
  if (!fs.existsSync(path.join(p, 'fixture.json'))) throw new Error(`fixture model missing: ${p}`);
  return p;
}

// Resolves {port, proc, log(), stop()} once the server logs its address.
// opts.bin: another executable with the vireo CLI (the test-only
// vireo_scripted); default $VIREO_BIN.
function startServer(preset, args = [], env = {}, opts = {}) {
  return new Promise((resolve, reject) => {
    // A small KV cache: several servers may run at once on a shared machine.
    const kv = args.includes('--kv-cache-memory-bytes') ? [] : ['--kv-cache-memory-bytes', '64M'];
    const proc = spawn(opts.bin || BIN, ['serve', modelPath(preset), '--host', '127.0.0.1', '--port', '0', ...kv, ...args], {
      env: { ...process.env, VLLM_API_KEY: '', VIREO_API_KEY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    let done = false;
    const timer = setTimeout(() => {
      if (!done) { done = true; proc.kill('SIGKILL'); reject(new Error('server did not start:\n' + log)); }
    }, 60000);
    const onData = (d) => {
      log += d.toString();
      const m = log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (m && !done) {
        done = true;
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          port,
          proc,
          base: `http://127.0.0.1:${port}`,
          log: () => log,
          stop: () => new Promise((res) => {
            if (proc.exitCode !== null) return res(proc.exitCode);
            proc.once('exit', (code, sig) => res(code === null ? sig : code));
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 15000).unref();
          }),
        });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      if (!done) { done = true; clearTimeout(timer); reject(new Error(`server exited (${code}):\n${log}`)); }
    });
  });
}

// Raw request over one socket; resolves the whole response text once the
// server has sent `count` responses (Content-Length / chunked) or closed.
function rawHttp(port, data, count = 1, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { sock.destroy(); resolve(buf.toString('latin1')); }, timeoutMs);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (countResponses(buf.toString('latin1')) >= count) { clearTimeout(t); sock.destroy(); resolve(buf.toString('latin1')); }
    });
    sock.on('end', () => { clearTimeout(t); resolve(buf.toString('latin1')); });
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
    sock.write(data);
  });
}

function countResponses(s) {
  let n = 0, off = 0;
  for (;;) {
    const he = s.indexOf('\r\n\r\n', off);
    if (he < 0) return n;
    const head = s.slice(off, he).toLowerCase();
    const cl = head.match(/content-length: (\d+)/);
    let end;
    if (cl) end = he + 4 + Number(cl[1]);
    else if (head.includes('transfer-encoding: chunked')) {
      const z = s.indexOf('\r\n0\r\n\r\n', he);
      if (z < 0) return n;
      end = z + 7;
    } else end = he + 4;
    if (end > s.length) return n;
    n++;
    off = end;
  }
}

async function metric(base, name, labels = '') {
  const text = await (await fetch(base + '/metrics')).text();
  const re = new RegExp('^' + name.replace(/[:]/g, '\\:') + '\\{' + labels + '[^}]*\\} (\\S+)$', 'm');
  const m = text.match(re);
  return m ? Number(m[1]) : NaN;
}

async function waitFor(pred, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

module.exports = { startServer, rawHttp, metric, waitFor, modelPath };
