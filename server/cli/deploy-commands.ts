import { parseArgs } from 'node:util';
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { invalidOption, type ServeOptions } from '../options.js';
import { describeError } from '../errors.js';
import { writeFileAtomic } from '../sinks/file-sink.js';
import { renderNginxConfig, resolveNginxOptions, DEFAULT_NGINX_OPTIONS, type NginxOptions } from '../deploy/nginx.js';
import { renderPm2Ecosystem, resolvePm2Options } from '../deploy/pm2.js';
import { renderSystemdUnit, resolveSystemdOptions } from '../deploy/systemd.js';
import { filePathOption } from '../deploy/serve-argv.js';
import { SERVE_FLAGS, flagOf } from './serve-flags.js';
// main.ts imports this module for its COMMANDS table; the commands above are function
// declarations, so that cycle is safe whichever module loads first.
import { attachNegativeValues, parseServeArgs, type CliIo } from './main.js';

/** One flag of a deploy command, for parsing and for --help. */
interface DeployFlag {
  flag: string;
  value: string;
  help: string;
  /** Shown as "(default: …)"; omitted when undefined. */
  default?: string;
  /** A switch: takes no value. */
  boolean?: true;
}

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function helpText(usage: string, about: string, flags: readonly DeployFlag[], footer: string): string {
  const rows = flags.map((f) => [`  --${f.flag}${f.value ? ` ${f.value}` : ''}`, f.help + (f.default === undefined ? '' : ` (default: ${f.default})`)]);
  rows.push(['  -h, --help', 'show this help']);
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 2;
  return [usage, '', about, '', 'Options:', ...rows.map(([flag, help]) => flag!.padEnd(width) + help), '', footer, ''].join('\n');
}

/** parseArgs with our one-line errors. */
function parseFlags(command: string, flags: readonly DeployFlag[], args: string[], allowPositionals: boolean) {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const f of flags) options[f.flag] = { type: f.boolean ? 'boolean' : 'string' };
  try {
    const takesValue = (name: string) => options[name]?.type === 'string';
    return parseArgs({ args: attachNegativeValues(args, takesValue), options, strict: true, allowPositionals });
  } catch (err) {
    const text = describeError(err);
    const unknown = /Unknown option '([^']+)'/.exec(text);
    if (unknown) {
      const name = unknown[1]!;
      const isServeFlag = SERVE_FLAGS.some((f) => `--${flagOf(f.key)}` === name.split('=')[0]);
      if (isServeFlag && command !== 'nginx') throw new Error(`Option ${name} belongs to serve: put serve options after --, e.g. tpdne ${command} -- ${name} …`);
      throw new Error(`Unknown option ${name} (see tpdne ${command} --help)`);
    }
    const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(text);
    if (missing) throw new Error(`Option ${missing[1]} needs a value`);
    const positional = /Unexpected argument '([^']*)'/.exec(text);
    if (positional) throw new Error(`Unexpected argument '${positional[1]}' (see tpdne ${command} --help)`);
    throw new Error(text);
  }
}

/** `[own flags] -- [serve flags]`: the serve part is parsed and validated like `tpdne serve`. */
function splitServeArgs(args: string[]): { own: string[]; serve: ServeOptions } {
  const at = args.indexOf('--');
  if (at === -1) return { own: args, serve: {} };
  const parsed = parseServeArgs(args.slice(at + 1));
  if (parsed.help) throw new Error('Option --help after -- is not a serve option (see tpdne serve --help)');
  return { own: args.slice(0, at), serve: parsed.options };
}

/** Prints `text`, or writes it atomically to `out` and says where, with the next step. */
async function emit(io: CliIo, text: string, out: string | undefined, suffix: string | null, next: (file: string) => string): Promise<number> {
  if (out === undefined) {
    io.out(text);
    return 0;
  }
  const target = filePathOption('out', out, process.cwd());
  if (suffix !== null && !target.endsWith(suffix)) invalidOption('out', `a file name ending in ${suffix}`, out);
  const folder = statSync(dirname(target), { throwIfNoEntry: false });
  if (!folder?.isDirectory()) invalidOption('out', 'a file in an existing folder', out);
  if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) invalidOption('out', 'a file, not a folder', out);
  await writeFileAtomic(target, Buffer.from(text));
  io.err(`tpdne: wrote ${target}; ${next(target)}\n`);
  return 0;
}

const OUT_FLAG = (what: string, example: string): DeployFlag => ({
  flag: 'out',
  value: '<file>',
  help: `write the ${what} to <file> atomically instead of printing it, e.g. ${example}`,
});

const NGINX_FLAGS: readonly DeployFlag[] = [
  { flag: 'domain', value: '<name>', help: 'the public name, e.g. tpdne.example.com (required)' },
  { flag: 'upstream', value: '<host:port>', help: 'where tpdne serve listens', default: DEFAULT_NGINX_OPTIONS.upstream },
  {
    flag: 'tls',
    value: 'letsencrypt|off|<cert> <key>',
    help: "certbot's files for the domain; plain HTTP (local, or behind a CDN that terminates TLS); or your certificate and key",
    default: DEFAULT_NGINX_OPTIONS.tls,
  },
  { flag: 'tls-cert', value: '<file>', help: 'your certificate (full chain, PEM): the same as --tls <cert> <key>' },
  { flag: 'tls-key', value: '<file>', help: 'its private key (PEM)' },
  { flag: 'interval', value: '<ms>', help: "the server's --interval: nginx fetches each pointer once per slot", default: String(DEFAULT_NGINX_OPTIONS.interval) },
  { flag: 'listen', value: '<addr>', help: 'address to listen on', default: 'every IPv4 and IPv6 address' },
  { flag: 'http-port', value: '<n>', help: 'HTTP port (redirects to HTTPS unless --tls off)', default: String(DEFAULT_NGINX_OPTIONS.httpPort) },
  { flag: 'https-port', value: '<n>', help: 'HTTPS port', default: String(DEFAULT_NGINX_OPTIONS.httpsPort) },
  { flag: 'cache-dir', value: '<dir>', help: "nginx's response cache", default: `${DEFAULT_NGINX_OPTIONS.cacheRoot}/tpdne-<domain>` },
  { flag: 'letsencrypt-dir', value: '<dir>', help: 'where certbot keeps <domain>/fullchain.pem and privkey.pem', default: DEFAULT_NGINX_OPTIONS.letsencryptDir },
  { flag: 'acme-root', value: '<dir>', help: 'folder served for ACME challenges (certbot certonly --webroot -w <dir>)', default: DEFAULT_NGINX_OPTIONS.acmeRoot },
  OUT_FLAG('config', '/etc/nginx/conf.d/tpdne.conf'),
];

const NGINX_HELP = helpText(
  'Usage: tpdne nginx --domain <name> [options]',
  'Print an nginx site for tpdne: HTTPS with a redirect from HTTP, the /stream WebSocket,\n' +
    'security headers on every response, and a cache that asks the origin for the current\n' +
    'image once per slot and for each /frames/<slot> URL once.',
  NGINX_FLAGS,
  'Then: nginx -t && systemctl reload nginx. Nothing is run for you.',
);

export async function nginxCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('nginx', NGINX_FLAGS, args, true);
  if (values.help === true) {
    io.out(NGINX_HELP);
    return 0;
  }
  const options: Record<string, unknown> = {};
  for (const f of NGINX_FLAGS) {
    if (f.flag !== 'out' && values[f.flag] !== undefined) options[camel(f.flag)] = values[f.flag];
  }
  // `--tls <cert> <key>`: the key arrives as the one positional argument.
  const certGiven = typeof options.tls === 'string' && options.tls !== 'off' && options.tls !== 'letsencrypt';
  if (positionals.length > 0) {
    if (!certGiven || positionals.length > 1 || options.tlsKey !== undefined) {
      throw new Error(`Unexpected argument '${positionals[certGiven && options.tlsKey === undefined ? 1 : 0]}' (see tpdne nginx --help)`);
    }
    options.tlsKey = positionals[0];
  }
  const resolved = resolveNginxOptions(options as NginxOptions);
  return emit(io, renderNginxConfig(resolved), values.out as string | undefined, null, () => 'check and load it with: nginx -t && systemctl reload nginx');
}

const PM2_FLAGS: readonly DeployFlag[] = [
  { flag: 'name', value: '<name>', help: "the app's name in pm2", default: 'tpdne' },
  { flag: 'log-dir', value: '<dir>', help: 'folder for <name>.out.log and <name>.err.log', default: './logs' },
  OUT_FLAG('ecosystem file', 'ecosystem.config.cjs'),
];

const PM2_HELP = helpText(
  'Usage: tpdne pm2 [options] [-- <serve options>]',
  'Print a pm2 ecosystem file that runs tpdne serve with the options after -- (checked now),\n' +
    'from this folder, with this node, MALLOC_ARENA_MAX=2, restarts on crash and log files.',
  PM2_FLAGS,
  'Example: tpdne pm2 --out ecosystem.config.cjs -- --port 8080 --model model.onnx\n' + 'Then: pm2 start ecosystem.config.cjs && pm2 save',
);

export async function pm2Command(args: string[], io: CliIo): Promise<number> {
  const { own, serve } = splitServeArgs(args);
  const { values } = parseFlags('pm2', PM2_FLAGS, own, false);
  if (values.help === true) {
    io.out(PM2_HELP);
    return 0;
  }
  const resolved = resolvePm2Options({ name: values.name as string | undefined, logDir: values['log-dir'] as string | undefined, serve });
  return emit(io, renderPm2Ecosystem(resolved), values.out as string | undefined, '.config.cjs', (file) => `start it with: pm2 start ${file} && pm2 save`);
}

const SYSTEMD_FLAGS: readonly DeployFlag[] = [
  { flag: 'user', value: '<name>', help: 'run as this existing user (needed with serve --out)', default: 'a dynamic user (DynamicUser=yes)' },
  { flag: 'name', value: '<name>', help: 'name in the journal (SyslogIdentifier)', default: 'tpdne' },
  {
    flag: 'other-host',
    value: '',
    help: 'the unit is for another machine: do not check --user, the model or the --out folder here',
    boolean: true,
  },
  OUT_FLAG('unit', 'tpdne.service'),
];

const SYSTEMD_HELP = helpText(
  'Usage: tpdne systemd [options] [-- <serve options>]',
  'Print a hardened systemd unit that runs tpdne serve with the options after -- (checked\n' +
    'now), from this folder, with this node and MALLOC_ARENA_MAX=2, restarted always.',
  SYSTEMD_FLAGS,
  'Example: tpdne systemd --out tpdne.service -- --port 8080\n' +
    'Then: cp tpdne.service /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now tpdne',
);

export async function systemdCommand(args: string[], io: CliIo): Promise<number> {
  const { own, serve } = splitServeArgs(args);
  const { values } = parseFlags('systemd', SYSTEMD_FLAGS, own, false);
  if (values.help === true) {
    io.out(SYSTEMD_HELP);
    return 0;
  }
  const resolved = resolveSystemdOptions({
    user: values.user as string | undefined,
    name: values.name as string | undefined,
    otherHost: values['other-host'] === true,
    serve,
  });
  return emit(io, renderSystemdUnit(resolved), values.out as string | undefined, '.service', (file) => {
    const unit = basename(file);
    return `install it with: cp ${file} /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${unit}`;
  });
}

/** The deploy commands' --help texts, by command. */
export const DEPLOY_HELP: Record<string, string> = { nginx: NGINX_HELP, pm2: PM2_HELP, systemd: SYSTEMD_HELP };
