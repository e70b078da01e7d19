import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/models.js';
import { renderSystemdUnit, resolveSystemdOptions, systemdArg, type SystemdOptions } from '../../server/deploy/systemd.js';
import { parseUnit } from '../helpers/unit-file.js';

// Paths of another machine: the checks that read this one are off.
const PATHS = { cwd: '/srv/tpdne', node: '/usr/bin/node', bin: '/srv/tpdne/bin/tpdne.js', otherHost: true };

const unit = (options: SystemdOptions) => parseUnit(renderSystemdUnit(resolveSystemdOptions({ ...PATHS, ...options })));

const HARDENING = {
  NoNewPrivileges: ['yes'],
  ProtectSystem: ['strict'],
  PrivateTmp: ['yes'],
  PrivateMounts: ['yes'],
  ProtectProc: ['invisible'],
  ProtectKernelTunables: ['yes'],
  ProtectKernelModules: ['yes'],
  ProtectKernelLogs: ['yes'],
  ProtectControlGroups: ['yes'],
  ProtectClock: ['yes'],
  ProtectHostname: ['yes'],
  RestrictNamespaces: ['yes'],
  RestrictRealtime: ['yes'],
  RestrictSUIDSGID: ['yes'],
  LockPersonality: ['yes'],
  RemoveIPC: ['yes'],
  RestrictAddressFamilies: ['AF_INET AF_INET6 AF_UNIX'],
  SystemCallArchitectures: ['native'],
  SystemCallFilter: ['@system-service', '~@privileged'],
  SystemCallErrorNumber: ['EPERM'],
};

describe('renderSystemdUnit', () => {
  it('writes every key of the default unit, and nothing else', () => {
    assert.deepEqual(unit({ serve: { port: '8080' } }), {
      Unit: {
        Description: ['tpdne: a generative model dreaming one image per slot for every viewer'],
        After: ['network-online.target'],
        Wants: ['network-online.target'],
      },
      Service: {
        Type: ['simple'],
        ExecStart: ['/usr/bin/node /srv/tpdne/bin/tpdne.js serve --port 8080'],
        WorkingDirectory: ['/srv/tpdne'],
        Environment: ['NODE_ENV=production', 'MALLOC_ARENA_MAX=2'],
        SyslogIdentifier: ['tpdne'],
        Restart: ['always'],
        RestartSec: ['2'],
        TimeoutStopSec: ['20'],
        LimitNOFILE: ['65536'],
        DynamicUser: ['yes'],
        ProtectHome: ['yes'],
        ...HARDENING,
        CapabilityBoundingSet: [''],
      },
      Install: { WantedBy: ['multi-user.target'] },
    });
  });

  it('with a named user, serve --out, a low port and the CPU: user, write access, the bind capability, no devices', () => {
    const service = unit({ user: 'tpdne', name: 'dreams', serve: { port: '80', device: 'cpu', out: 'out/sampled', model: 'models/m.onnx', interval: '500' } })['Service']!;
    assert.deepEqual(service['ExecStart'], ['/usr/bin/node /srv/tpdne/bin/tpdne.js serve --port 80 --model /srv/tpdne/models/m.onnx --interval 500 --device cpu --out /srv/tpdne/out/sampled']);
    assert.deepEqual(service['User'], ['tpdne']);
    assert.equal(service['DynamicUser'], undefined);
    assert.deepEqual(service['ReadWritePaths'], ['/srv/tpdne/out']);
    assert.deepEqual(service['PrivateDevices'], ['yes']);
    assert.deepEqual(service['AmbientCapabilities'], ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(service['CapabilityBoundingSet'], ['CAP_NET_BIND_SERVICE']);
    assert.deepEqual(service['SyslogIdentifier'], ['dreams']);
  });

  it('keeps home folders readable when the app, node or the model lives there', () => {
    assert.deepEqual(unit({ cwd: '/home/ann/tpdne', bin: '/home/ann/tpdne/bin/tpdne.js' })['Service']!['ProtectHome'], ['read-only']);
    assert.deepEqual(unit({ node: '/root/.nvm/versions/node/v20/bin/node' })['Service']!['ProtectHome'], ['read-only']);
    assert.deepEqual(unit({ serve: { model: '/home/ann/m.onnx' } })['Service']!['ProtectHome'], ['read-only']);
    assert.deepEqual(unit({ cwd: '/homestead' })['Service']!['ProtectHome'], ['yes']);
  });

  it('leaves devices visible unless the model runs on the CPU (CUDA needs /dev/nvidia*)', () => {
    assert.equal(unit({ serve: { device: 'cuda' } })['Service']!['PrivateDevices'], undefined);
    assert.equal(unit({})['Service']!['PrivateDevices'], undefined);
  });
});

describe('systemdArg', () => {
  const table: [string, string][] = [
    ['--port', '--port'],
    ['/srv/m.onnx', '/srv/m.onnx'],
    ['-1,1', '-1,1'],
    ['my model.onnx', '"my model.onnx"'],
    ['say "hi"', '"say \\"hi\\""'],
    ['a\\b', '"a\\\\b"'],
    ['100%', '"100%%"'],
    ['$HOME', '"$$HOME"'],
    ['', '""'],
  ];
  for (const [arg, written] of table) {
    it(`writes ${JSON.stringify(arg)} as ${written}`, () => assert.equal(systemdArg(arg), written));
  }
});

describe('resolveSystemdOptions rejects bad input in one line', () => {
  const bad: [SystemdOptions, string, string][] = [
    [{ user: 'root;rm' }, 'ERR_INVALID_OPTION', "Expected a name of letters, digits, ., _ or - (at most 32, starting with a letter or _) for --user but received 'root;rm'"],
    [{ name: '' }, 'ERR_INVALID_OPTION', "Expected a name of letters, digits, ., _ or - (at most 32, starting with a letter or _) for --name but received ''"],
    [{ cwd: '/srv/my app' }, 'ERR_INVALID_OPTION', "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --cwd but received '/srv/my app'"],
    [{ node: '/opt/node%i' }, 'ERR_INVALID_OPTION', "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --node but received '/opt/node%i'"],
    [{ serve: { port: 'abc' } }, 'ERR_INVALID_OPTION', "Expected integer between 0 and 65535 for --port but received 'abc'"],
    [{ serve: { out: 'out/sampled' } }, 'ERR_INVALID_OPTION', 'Expected an existing user that can write /srv/tpdne/out (a dynamic user owns no folder; serve --out needs one) for --user but received nothing'],
    [{ user: 'www', serve: { out: 'my out/sampled' } }, 'ERR_INVALID_OPTION', "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --out but received '/srv/tpdne/my out/sampled'"],
    [{ group: 'x' } as SystemdOptions, 'ERR_INVALID_OPTION', "Expected a known option for --group but received 'x'"],
  ];
  for (const [input, code, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveSystemdOptions({ ...PATHS, ...input }), { code, message });
    });
  }
});

describe('a unit whose paths live under /tmp', () => {
  // PrivateTmp=yes would hide them from the service: such a unit keeps the real /tmp.
  const table: [string, SystemdOptions][] = [
    ['the checkout', { cwd: '/tmp/tpdne', bin: '/tmp/tpdne/bin/tpdne.js' }],
    ['tpdne itself', { bin: '/var/tmp/tpdne/bin/tpdne.js' }],
    ['node', { node: '/tmp/node/bin/node' }],
    ['the model', { serve: { model: '/tmp/m.onnx' } }],
    ['--out', { user: 'www', serve: { out: '/tmp/out/sampled' } }],
  ];
  for (const [what, options] of table) {
    it(`has PrivateTmp=no, said why, when ${what} is there`, () => {
      const text = renderSystemdUnit(resolveSystemdOptions({ ...PATHS, ...options }));
      assert.deepEqual(parseUnit(text)['Service']!['PrivateTmp'], ['no']);
      assert.match(text, /^# The real \/tmp, not a private one: .*$/m);
    });
  }
  it('keeps PrivateTmp=yes otherwise (/tmpfoo is not /tmp)', () => {
    assert.deepEqual(unit({ serve: { model: '/tmpfoo/m.onnx' } })['Service']!['PrivateTmp'], ['yes']);
  });
});

describe('resolveSystemdOptions checks this machine unless otherHost', () => {
  const dir = tempDir('tpdne-systemd-unit-');
  after(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\n# a comment\nann:x:1000:1000::/home/ann:/bin/sh\n');
  const here = { cwd: '/srv/tpdne', node: '/usr/bin/node', bin: '/srv/tpdne/bin/tpdne.js', passwd };

  it('takes a user listed in the passwd file', () => {
    assert.equal(resolveSystemdOptions({ ...here, user: 'ann' }).user, 'ann');
  });

  it('refuses one that is not, even when a line merely contains it', () => {
    assert.throws(() => resolveSystemdOptions({ ...here, user: 'an' }), {
      code: 'ERR_INVALID_OPTION',
      message: `Expected a user that exists on this machine (in ${passwd}; --other-host for a unit meant for another one) for --user but received 'an'`,
    });
    assert.equal(resolveSystemdOptions({ ...here, user: 'an', otherHost: true }).user, 'an');
  });

  it('refuses a missing --out folder, which would stop systemd from starting the unit', () => {
    assert.throws(() => resolveSystemdOptions({ ...here, user: 'ann', serve: { out: '/srv/none/sampled' } }), {
      code: 'ERR_INVALID_OPTION',
      message: "Expected a file in an existing folder (create /srv/none first, owned by ann: systemd will not start a unit whose ReadWritePaths= is missing) for --out but received '/srv/none/sampled'",
    });
    assert.deepEqual(unit({ user: 'ann', serve: { out: '/srv/none/sampled' } })['Service']!['ReadWritePaths'], ['/srv/none']);
  });

  it('refuses a model that is not there or not readable', () => {
    assert.throws(() => resolveSystemdOptions({ ...here, serve: { model: '/srv/none.onnx' } }), {
      code: 'ERR_INVALID_OPTION',
      message: "Expected an existing, readable model file or folder for --model but received '/srv/none.onnx'",
    });
    assert.equal(resolveSystemdOptions({ ...here, serve: { model: '/etc/passwd' } }).serve.options.model, '/etc/passwd');
  });
});
