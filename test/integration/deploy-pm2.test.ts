import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../server/cli/main.js';
import { ROOT } from '../helpers/paths.js';
import { tempDir } from '../helpers/models.js';
import { freePort } from '../helpers/nginx.js';
import { rawRequest } from '../helpers/http.js';

const run = promisify(execFile);
const PM2 = join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const NAME = 'tpdne-pm2-test';

interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { status: string; restart_time: number };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('pm2 (from npm) runs the generated ecosystem file', () => {
  const dir = tempDir('tpdne-pm2-');
  const env = { ...process.env, PM2_HOME: join(dir, 'pm2-home'), PM2_DISABLE_VERSION_CHECK: 'true', PM2_NO_INTERACTION: 'true' };
  const pm2 = (...args: string[]) => run(process.execPath, [PM2, ...args], { env, cwd: dir, timeout: 60_000 });
  const apps = async (): Promise<Pm2App[]> => JSON.parse((await pm2('jlist')).stdout) as Pm2App[];

  after(async () => {
    // Never leave a daemon behind, whatever failed.
    await pm2('kill').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts tpdne with the options, MALLOC_ARENA_MAX=2 and log files; restarts it after a crash; stops it cleanly', async () => {
    const port = await freePort();
    const file = join(dir, 'ecosystem.config.cjs');
    const logs = join(dir, 'logs');
    let err = '';
    const code = await main(['pm2', '--name', NAME, '--log-dir', logs, '--out', file, '--', '--port', String(port), '--size', '32', '--interval', '250'], {
      out: () => {},
      err: (t) => void (err += t),
    });
    assert.equal(code, 0, err);
    assert.match(readFileSync(file, 'utf8'), /MALLOC_ARENA_MAX: '2'/);

    await pm2('start', file);
    const health = `http://127.0.0.1:${port}/healthz`;
    const first = await until('/healthz', async () => {
      const res = await rawRequest(health);
      const report = JSON.parse(res.body.toString()) as { status: string; size: { width: number } | null; interval: number };
      return res.status === 200 && report.status === 'ok' ? report : undefined;
    });
    assert.equal(first.interval, 250);
    assert.equal(first.size?.width, 32);

    const [app] = (await apps()).filter((a) => a.name === NAME);
    assert.equal(app?.pm2_env.status, 'online');
    const environ = readFileSync(`/proc/${app!.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'the app runs with MALLOC_ARENA_MAX=2');
    assert.ok(environ.includes('NODE_ENV=production'));

    // A crash: pm2 starts it again.
    process.kill(app!.pid, 'SIGKILL');
    const restarted = await until('the restart', async () => {
      const again = (await apps()).find((a) => a.name === NAME);
      return again && again.pid !== app!.pid && again.pid > 0 && again.pm2_env.status === 'online' ? again : undefined;
    });
    assert.equal(restarted.pm2_env.restart_time, 1);
    await until('/healthz after the restart', async () => ((await rawRequest(health)).status === 200 ? true : undefined));

    await pm2('stop', NAME);
    const stopped = (await apps()).find((a) => a.name === NAME);
    assert.equal(stopped?.pm2_env.status, 'stopped');
    assert.equal(alive(restarted.pid), false, 'the process is gone');
    await assert.rejects(rawRequest(health), { code: 'ECONNREFUSED' });
    const log = readFileSync(join(logs, `${NAME}.err.log`), 'utf8');
    assert.match(log, /tpdne: dreaming with /);
    // pm2 stops with SIGINT; the server shut down on its own, not killed after the timeout.
    assert.match(log, /tpdne: SIGINT: shutting down/);

    const daemonPid = Number(readFileSync(join(env.PM2_HOME, 'pm2.pid'), 'utf8'));
    await pm2('kill');
    await until('the pm2 daemon to exit', async () => (alive(daemonPid) ? undefined : true), 10_000);
    assert.equal(existsSync(join(env.PM2_HOME, 'pm2.pid')), false);
  });
});
