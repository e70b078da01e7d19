import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../server/cli/main.js';
import { tempDir } from '../helpers/models.js';

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => void (out += t), err: (t) => void (err += t) });
  return { code, out, err };
}

describe('tpdne nginx|pm2|systemd', () => {
  const dir = tempDir('tpdne-cli-');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('are listed in tpdne help, and each has --help', async () => {
    const help = await cli('help');
    for (const command of ['nginx', 'pm2', 'systemd']) {
      assert.match(help.out, new RegExp(`^  ${command} +\\S`, 'm'));
      const own = await cli(command, '--help');
      assert.equal(own.code, 0);
      assert.match(own.out, new RegExp(`^Usage: tpdne ${command} `));
      assert.equal((await cli('help', command)).out, own.out);
    }
    assert.match((await cli('nginx', '-h')).out, /--tls letsencrypt\|off\|<cert> <key> .*\(default: letsencrypt\)/);
  });

  it('print the config to stdout, and nothing else', async () => {
    const result = await cli('nginx', '--domain', 'tpdne.example.com');
    assert.equal(result.code, 0);
    assert.equal(result.err, '');
    assert.match(result.out, /^# tpdne for tpdne\.example\.com/);
  });

  it('take --tls <cert> <key> and --tls-cert/--tls-key alike', async () => {
    const positional = await cli('nginx', '--domain', 'a.example', '--tls', '/c/cert.pem', '/c/key.pem');
    const named = await cli('nginx', '--domain', 'a.example', '--tls-cert', '/c/cert.pem', '--tls-key', '/c/key.pem');
    const keyFirst = await cli('nginx', '--domain', 'a.example', '--tls-key', '/c/key.pem', '--tls', '/c/cert.pem');
    assert.equal(positional.code, 0, positional.err);
    assert.equal(positional.out, named.out);
    assert.equal(positional.out, keyFirst.out);
    assert.match(positional.out, /ssl_certificate \/c\/cert\.pem;\n {4}ssl_certificate_key \/c\/key\.pem;/);
  });

  it('write --out atomically: the same text, no temporary file left, an old file replaced', async () => {
    mkdirSync(join(dir, 'sites'));
    const file = join(dir, 'sites', 'site.conf');
    writeFileSync(file, 'old');
    const printed = await cli('nginx', '--domain', 'a.example', '--tls', 'off');
    const written = await cli('nginx', '--domain', 'a.example', '--tls', 'off', '--out', file);
    assert.equal(written.code, 0);
    assert.equal(written.out, '');
    assert.equal(written.err, `tpdne: wrote ${file}; check and load it with: nginx -t && systemctl reload nginx\n`);
    assert.equal(readFileSync(file, 'utf8'), printed.out);
    assert.deepEqual(readdirSync(join(dir, 'sites')), ['site.conf']);
  });

  it('take a negative number after a flag as its value (--range -1,1)', async () => {
    const result = await cli('pm2', '--', '--range', '-1,1', '--seed', '7');
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /args: \["serve","--seed","7","--range","-1,1"\]/);
  });

  it('systemd --other-host skips the checks that read this machine (user, model, --out folder)', async () => {
    const args = ['--user', 'nosuchuser-tpdne', '--', '--model', 'nope.onnx', '--out', '/var/www/tpdne-none/sampled'];
    assert.equal((await cli('systemd', ...args)).code, 1);
    const result = await cli('systemd', '--other-host', ...args);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, /^User=nosuchuser-tpdne$/m);
    assert.match(result.out, /^ReadWritePaths=\/var\/www\/tpdne-none$/m);
    assert.match(result.out, new RegExp(`--model ${process.cwd()}/nope\\.onnx`));
  });

  mkdirSync(join(dir, 'folder.service'), { recursive: true });
  const bad: [string[], string][] = [
    [['nginx'], 'Expected a domain name like tpdne.example.com for --domain but received nothing'],
    [['nginx', '--domain', 'a.example', '--http-port', '-1'], "Expected integer between 1 and 65535 for --http-port but received '-1'"],
    [['nginx', '--domain', 'a b'], "Expected a domain name like tpdne.example.com for --domain but received 'a b'"],
    [['nginx', '--domain'], 'Option --domain needs a value'],
    [['nginx', '--domain', 'a.example', '--gzip', 'on'], 'Unknown option --gzip (see tpdne nginx --help)'],
    [['nginx', '--domain', 'a.example', '--tls', 'off', 'extra'], "Unexpected argument 'extra' (see tpdne nginx --help)"],
    [['nginx', '--domain', 'a.example', '--tls', 'c.pem', 'k.pem', 'more.pem'], "Unexpected argument 'more.pem' (see tpdne nginx --help)"],
    [['nginx', '--domain', 'a.example', '--tls', 'c.pem', 'k.pem', '--tls-key', 'k2.pem'], "Unexpected argument 'k.pem' (see tpdne nginx --help)"],
    [['nginx', '--domain', 'a.example', '--tls', 'c.pem'], `Expected the key of certificate ${process.cwd()}/c.pem (--tls <cert> <key>, or --tls-key <file>) for --tls-key but received nothing`],
    [['nginx', '--domain', 'a.example', '--out', join(dir, 'missing', 'x.conf')], `Expected a file in an existing folder for --out but received '${join(dir, 'missing', 'x.conf')}'`],
    [['nginx', '--domain', 'a.example', '--out', dir], `Expected a file, not a folder for --out but received '${dir}'`],
    [['pm2', '--port', '8080'], 'Option --port belongs to serve: put serve options after --, e.g. tpdne pm2 -- --port …'],
    [['pm2', '--', '--prot', '1'], 'Unknown option --prot (see tpdne serve --help)'],
    [['pm2', '--', '--port', 'abc'], "Expected integer between 0 and 65535 for --port but received 'abc'"],
    [['pm2', '--', '--port', '-1'], "Expected integer between 0 and 65535 for --port but received '-1'"],
    [['pm2', '--', '--model', 'nope.onnx'], `Expected an existing, readable model file or folder for --model but received '${process.cwd()}/nope.onnx'`],
    [['systemd', '--', '--model', 'nope.onnx'], `Expected an existing, readable model file or folder for --model but received '${process.cwd()}/nope.onnx'`],
    [['systemd', '--user', 'nosuchuser-tpdne'], "Expected a user that exists on this machine (in /etc/passwd; --other-host for a unit meant for another one) for --user but received 'nosuchuser-tpdne'"],
    [['systemd', '--user', 'root', '--', '--out', '/var/www/tpdne-none/sampled'], "Expected a file in an existing folder (create /var/www/tpdne-none first, owned by root: systemd will not start a unit whose ReadWritePaths= is missing) for --out but received '/var/www/tpdne-none/sampled'"],
    [['pm2', '--', '--help'], 'Option --help after -- is not a serve option (see tpdne serve --help)'],
    [['pm2', '--out', join(dir, 'pm2.cjs')], `Expected a file name ending in .config.cjs for --out but received '${join(dir, 'pm2.cjs')}'`],
    [['systemd', '--out', join(dir, 'tpdne.unit')], `Expected a file name ending in .service for --out but received '${join(dir, 'tpdne.unit')}'`],
    [['systemd', '--out', join(dir, 'folder.service')], `Expected a file, not a folder for --out but received '${join(dir, 'folder.service')}'`],
    [['systemd', '--user', 'x y'], "Expected a name of letters, digits, ., _ or - (at most 32, starting with a letter or _) for --user but received 'x y'"],
    [['systemd', '--', '--out', 'out/sampled'], `Expected an existing user that can write ${process.cwd()}/out (a dynamic user owns no folder; serve --out needs one) for --user but received nothing`],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${args.join(' ')} with one line and exit code 1`, async () => {
      const result = await cli(...args);
      assert.deepEqual(result, { code: 1, out: '', err: `tpdne: ${message}\n` });
    });
  }
});
