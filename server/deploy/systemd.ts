import { readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { invalidOption, type ServeOptions } from '../options.js';
import { configPathOption, missingOption, nameOption } from './validate.js';
import { TPDNE_BIN, serveCommand, type ServeCommand } from './serve-argv.js';

/** Everything `tpdne systemd` accepts. All optional. */
export interface SystemdOptions {
  /** Run as this existing user. Default: a dynamic user made for the service (DynamicUser=yes). */
  user?: string;
  /** Names the unit in the journal (SyslogIdentifier). Default `tpdne`. */
  name?: string;
  /** The `tpdne serve` options to run with. Default: none (serve's defaults). */
  serve?: ServeOptions;
  /** WorkingDirectory; relative paths resolve against it. Default `process.cwd()`. */
  cwd?: string;
  /** The node binary. Default `process.execPath` (the node running this). */
  node?: string;
  /** tpdne's bin/tpdne.js. Default: this installation's. */
  bin?: string;
  /**
   * The unit is for another machine: skip the checks that read this one (that `user` is in
   * /etc/passwd, the model is readable, the `--out` folder exists). Default `false`.
   */
  otherHost?: boolean;
  /** The user database read for `user`. Default `/etc/passwd`. */
  passwd?: string;
}

export interface ResolvedSystemdOptions {
  /** null: DynamicUser. */
  readonly user: string | null;
  readonly name: string;
  readonly cwd: string;
  readonly node: string;
  readonly serve: ServeCommand;
}

const KNOWN_KEYS = new Set(['user', 'name', 'serve', 'cwd', 'node', 'bin', 'otherHost', 'passwd']);

// PrivateTmp=yes gives the service an empty /tmp and /var/tmp of its own: a path there
// (a checkout or --out under /tmp) would vanish for it, so such a unit keeps the real one.
const TMP_FOLDERS = ['/tmp/', '/var/tmp/'];

/** The user names in a passwd file (`name:x:uid:gid:…` lines). */
function passwdUsers(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  return new Set(text.split('\n').map((line) => line.split(':')[0]!).filter((name) => name !== '' && !name.startsWith('#')));
}

export function resolveSystemdOptions(options: SystemdOptions = {}): ResolvedSystemdOptions {
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) invalidOption(key, 'a known option', (options as Record<string, unknown>)[key]);
  }
  const local = options.otherHost !== true;
  const cwd = configPathOption('cwd', options.cwd ?? process.cwd(), '/');
  const user = options.user === undefined ? null : nameOption('user', options.user, '');
  if (user !== null && local && !passwdUsers(options.passwd ?? '/etc/passwd').has(user)) {
    invalidOption('user', `a user that exists on this machine (in ${options.passwd ?? '/etc/passwd'}; --other-host for a unit meant for another one)`, user);
  }
  const bin = configPathOption('bin', options.bin ?? TPDNE_BIN, cwd);
  const serve = serveCommand(options.serve ?? {}, bin, cwd, local);
  if (serve.options.out !== null) {
    // ReadWritePaths= takes the folder unquoted.
    configPathOption('out', serve.options.out, cwd);
    const folder = dirname(serve.options.out);
    if (user === null) {
      missingOption('user', `an existing user that can write ${folder} (a dynamic user owns no folder; serve --out needs one)`);
    }
    // systemd refuses to start a unit whose ReadWritePaths= does not exist.
    if (local && !statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
      invalidOption('out', `a file in an existing folder (create ${folder} first, owned by ${user}: systemd will not start a unit whose ReadWritePaths= is missing)`, serve.options.out);
    }
  }
  return Object.freeze({
    user,
    name: nameOption('name', options.name, 'tpdne'),
    cwd,
    node: configPathOption('node', options.node ?? process.execPath, cwd),
    serve,
  });
}

/**
 * One ExecStart= argument: bare when it is plain, else double-quoted with `\` and `"`
 * escaped. `%` (specifiers) and `$` (environment) are doubled in both forms.
 */
export function systemdArg(arg: string): string {
  const literal = arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(arg)) return literal;
  return `"${literal.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const HOMES = ['/home/', '/root/', '/run/user/'];

/** A hardened unit that runs `tpdne serve`. Pure. */
export function renderSystemdUnit(o: ResolvedSystemdOptions): string {
  const serve = o.serve.options;
  const readPaths = [o.cwd, o.node, ...o.serve.argv.slice(0, 1), ...(serve.model ? [serve.model] : []), ...(serve.out ? [serve.out] : [])];
  const under = (folders: string[]): boolean => readPaths.some((p) => folders.some((folder) => (p + '/').startsWith(folder)));
  const underHome = under(HOMES);
  const underTmp = under(TMP_FOLDERS);
  const privilegedPort = serve.port > 0 && serve.port < 1024;
  const exec = [o.node, ...o.serve.argv].map(systemdArg).join(' ');
  const lines = [
    `# tpdne, generated by \`tpdne systemd\`. Install:`,
    `#   cp ${o.name}.service /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${o.name}`,
    `# Logs: journalctl -u ${o.name} -f`,
    '[Unit]',
    'Description=tpdne: a generative model dreaming one image per slot for every viewer',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    `WorkingDirectory=${o.cwd}`,
    'Environment=NODE_ENV=production',
    '# glibc makes an arena per thread (model worker, libvips, libuv); two bound the heap.',
    'Environment=MALLOC_ARENA_MAX=2',
    `SyslogIdentifier=${o.name}`,
    'Restart=always',
    'RestartSec=2',
    '# SIGTERM, then this long to close viewers and finish the frame in flight.',
    'TimeoutStopSec=20',
    '# Viewers are sockets: one descriptor each.',
    'LimitNOFILE=65536',
    '',
    ...(o.user === null
      ? ['# A fresh unprivileged user for each run; it must be able to read the paths above.', 'DynamicUser=yes']
      : [`User=${o.user}`]),
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    ...(serve.out ? [`ReadWritePaths=${dirname(serve.out)}`] : []),
    ...(underHome ? ['# Read-only, not hidden: the app, node or the model lives under a home folder.'] : []),
    `ProtectHome=${underHome ? 'read-only' : 'yes'}`,
    ...(underTmp ? ['# The real /tmp, not a private one: the app, node, the model or --out lives under /tmp or /var/tmp.'] : []),
    `PrivateTmp=${underTmp ? 'no' : 'yes'}`,
    'PrivateMounts=yes',
    ...(serve.device === 'cpu'
      ? ['PrivateDevices=yes']
      : ['# PrivateDevices= stays off: --device ' + serve.device + ' may need the GPU in /dev.']),
    'ProtectProc=invisible',
    'ProtectKernelTunables=yes',
    'ProtectKernelModules=yes',
    'ProtectKernelLogs=yes',
    'ProtectControlGroups=yes',
    'ProtectClock=yes',
    'ProtectHostname=yes',
    'RestrictNamespaces=yes',
    'RestrictRealtime=yes',
    'RestrictSUIDSGID=yes',
    'LockPersonality=yes',
    'RemoveIPC=yes',
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX',
    'SystemCallArchitectures=native',
    'SystemCallFilter=@system-service',
    'SystemCallFilter=~@privileged',
    '# A call outside the filter fails with EPERM (libuv then falls back) instead of killing the process.',
    'SystemCallErrorNumber=EPERM',
    '# Not MemoryDenyWriteExecute=: V8 compiles JavaScript into executable memory.',
    ...(privilegedPort
      ? [`# Port ${serve.port} is below 1024.`, 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE']
      : ['CapabilityBoundingSet=']),
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ];
  return lines.join('\n') + '\n';
}
