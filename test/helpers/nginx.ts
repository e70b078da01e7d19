import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findProgram } from './system.js';

const run = promisify(execFile);

/** A TCP port on 127.0.0.1 that was free a moment ago (for programs that cannot take port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A self-signed certificate and key for `domain`, made by openssl in `dir`. */
export async function selfSignedCert(dir: string, domain: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${domain}.crt`);
  const key = join(dir, `${domain}.key`);
  await run(findProgram('openssl')!, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${domain}`, '-addext', `subjectAltName=DNS:${domain}`,
  ]);
  return { cert, key };
}

/**
 * Wraps a generated site config (what goes into nginx's http block) into a complete
 * nginx.conf whose pid, logs and temp folders all live under `prefix`, so nginx runs
 * without touching /etc, /run or /var. Returns the path of the main config.
 */
export function wrapSiteConfig(prefix: string, site: string): string {
  const sitePath = join(prefix, 'site.conf');
  writeFileSync(sitePath, site);
  const main = [
    // As root, workers would switch to nobody and could not read the temp prefix.
    ...(process.getuid?.() === 0 ? ['user root;'] : []),
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'error.log')} warn;`,
    'events { worker_connections 1024; }',
    'http {',
    '    access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(prefix, t)};`),
    `    include ${sitePath};`,
    '}',
    '',
  ].join('\n');
  const mainPath = join(prefix, 'nginx.conf');
  writeFileSync(mainPath, main);
  return mainPath;
}

/** `nginx -t` on the config: exit code and what it said. */
export async function nginxTest(prefix: string, config: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(findProgram('nginx')!, ['-t', '-p', prefix, '-c', config, '-e', join(prefix, 'error.log')]);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: (e.stdout ?? '') + (e.stderr ?? '') };
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export interface RunningNginx {
  readonly process: ChildProcess;
  /** nginx's error log so far. */
  errorLog(): string;
  /** Fast shutdown (SIGTERM), resolved once the master has exited. Idempotent. */
  stop(): Promise<void>;
}

/** Starts nginx in the foreground on `config`, resolved once `port` accepts connections. */
export async function startNginx(prefix: string, config: string, port: number, timeoutMs = 10_000): Promise<RunningNginx> {
  const errorLogPath = join(prefix, 'error.log');
  const child = spawn(findProgram('nginx')!, ['-p', prefix, '-c', config, '-e', errorLogPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopping: Promise<void> | null = null;
  const nginx: RunningNginx = {
    process: child,
    errorLog: () => stderr + (existsSync(errorLogPath) ? readFileSync(errorLogPath, 'utf8') : ''),
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      })();
      return stopping;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await nginx.stop();
      throw new Error(`nginx did not start on port ${port}: ${nginx.errorLog().trim()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return nginx;
}
