import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SERVE_FLAGS, flagOf, serveHelp } from './serve-flags.js';
import { startTpdne } from '../service.js';
import { describeError } from '../errors.js';
import type { ServeOptions } from '../options.js';
import { redactUrl } from '../bus/redis-bus.js';
import { nginxCommand, pm2Command, systemdCommand, DEPLOY_HELP } from './deploy-commands.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

const MAIN_HELP = `Usage: tpdne <command> [options]

Commands:
  serve     run the dreaming server
  nginx     print an nginx site (TLS, WebSocket, caching) for a domain
  pm2       print a pm2 ecosystem file that runs serve
  systemd   print a hardened systemd unit that runs serve
  help      show help for a command
  version   print tpdne's version (also --version)

Run 'tpdne <command> --help' for a command's options.
`;

/** The version in package.json (dist/server/cli/ is three folders below it). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** parseArgs' own messages run over several lines; ours is always one. */
function usageError(err: unknown): string {
  const text = describeError(err);
  const unknown = /Unknown option '([^']+)'/.exec(text);
  if (unknown) return `Unknown option ${unknown[1]} (see tpdne serve --help)`;
  const missing = /Option '(?:-\w, )?(--[\w-]+)[^']*' argument missing/.exec(text);
  if (missing) return `Option ${missing[1]} needs a value`;
  return text;
}

/**
 * `--port -1` as `--port=-1`: parseArgs reads a value that starts with `-` as another
 * option ("argument is ambiguous"), so a negative number never reached the validator and
 * its one-line message. Stops at `--`.
 */
export function attachNegativeValues(args: readonly string[], takesValue: (name: string) => boolean): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)];
    const next = args[i + 1];
    if (/^--[\w-]+$/.test(arg) && takesValue(arg.slice(2)) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** Parses `tpdne serve` flags into ServeOptions; throws with one line on bad usage. */
export function parseServeArgs(args: string[]): { help: boolean; options: ServeOptions } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const f of SERVE_FLAGS) config[flagOf(f.key)] = { type: 'string', multiple: f.multiple === true };
  let parsed;
  try {
    const takesValue = (name: string) => config[name]?.type === 'string';
    parsed = parseArgs({ args: attachNegativeValues(args, takesValue), options: config, strict: true, allowPositionals: false });
  } catch (err) {
    throw new Error(usageError(err));
  }
  const options: Record<string, unknown> = {};
  for (const f of SERVE_FLAGS) {
    const value = parsed.values[flagOf(f.key)];
    if (value !== undefined) options[f.key] = value;
  }
  return { help: parsed.values.help === true, options: options as ServeOptions };
}

async function serve(args: string[], io: CliIo): Promise<number> {
  const { help, options } = parseServeArgs(args);
  if (help) {
    io.out(serveHelp());
    return 0;
  }
  const log = (line: string) => io.err(line + '\n');
  let stop: (signal: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const onInt = () => stop('SIGINT');
  const onTerm = () => stop('SIGTERM');
  // Listen for signals from the start, so a SIGTERM while the model loads is not lost.
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const tpdne = await startTpdne({ ...options, log });
    const h = tpdne.health();
    if (tpdne.options.role === 'edge') log(`tpdne: edge serving the frames of ${redactUrl(tpdne.options.redis!)} at ${tpdne.url}`);
    else log(`tpdne: dreaming with ${h.model} on ${h.device}, one image every ${tpdne.options.interval} ms, at ${tpdne.url}`);
    const signal = await stopped;
    log(`tpdne: ${signal}: shutting down`);
    await tpdne.close();
    return 0;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/** The commands, by name. Each takes its own arguments and returns an exit code. */
export const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = {
  serve,
  nginx: nginxCommand,
  pm2: pm2Command,
  systemd: systemdCommand,
};

/** The CLI. Returns the exit code; every failure is one line on stderr. */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.out(args[0] === 'serve' ? serveHelp() : (DEPLOY_HELP[args[0] ?? ''] ?? MAIN_HELP));
    return command === undefined ? 2 : 0;
  }
  if (command === 'version' || command === '--version' || command === '-V') {
    io.out(`tpdne ${version()}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    io.err(`tpdne: unknown command '${command}' (try tpdne help)\n`);
    return 2;
  }
  try {
    return await run(args, io);
  } catch (err) {
    io.err(`tpdne: ${describeError(err)}\n`);
    return 1;
  }
}
