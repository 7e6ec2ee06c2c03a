// A real redis-server for the cluster run of this suite, on a free port, in a
// temporary directory of its own, with nothing persisted.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port }, () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(false));
  });
}

export class Redis {
  constructor(proc, port, dir, exited) {
    this.proc = proc;
    this.port = port;
    this.dir = dir;
    this.exited = exited;
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts redis-server and resolves once it accepts connections (at most 10 s). */
export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-redis-'));
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  let failure = null;
  proc.on('error', (e) => {
    failure = new Error(`cannot run redis-server (install Debian's redis-server; scripts/test.sh does): ${e.message}`);
  });
  const deadline = Date.now() + 10000;
  while (!(await canConnect(port))) {
    if (failure) throw failure;
    if (proc.exitCode !== null) throw new Error(`redis-server exited with ${proc.exitCode} before listening on ${port}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`redis-server did not listen on ${port} within 10 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return new Redis(proc, port, dir, exited);
}
