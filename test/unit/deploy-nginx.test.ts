import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  renderNginxConfig,
  resolveNginxOptions,
  digitRangePattern,
  cacheLockTimeout,
  slotBucket,
  securityHeaders,
  type NginxOptions,
} from '../../server/deploy/nginx.js';

const render = (options: NginxOptions) => renderNginxConfig(resolveNginxOptions({ cwd: '/srv', ...options }));

/** The text of each `location … { … }` block (they do not nest in our configs). */
function locations(config: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of config.matchAll(/^ *location ([^{]+) \{\n([\s\S]*?)^ *\}$/gm)) found.set(match[1]!.trim(), match[2]!);
  return found;
}

/** The `map $msec …` patterns, compiled as JavaScript regular expressions (PCRE-compatible here). */
function slotPatterns(config: string): { pattern: RegExp; value: string }[] {
  const map = /map \$msec \S+ \{\n([\s\S]*?)\n *\}/.exec(config);
  if (!map) return [];
  return [...map[1]!.matchAll(/^ *"~(.+)" (\S+);$/gm)].map((m) => ({ pattern: new RegExp(m[1]!), value: m[2]! }));
}

describe('digitRangePattern', () => {
  it('matches exactly the numbers of the range, for many ranges', () => {
    const ranges: [number, number][] = [[0, 999], [0, 249], [250, 499], [750, 999], [0, 0], [999, 999], [123, 456], [5, 94], [100, 199], [330, 659], [90, 109]];
    for (const [lo, hi] of ranges) {
      const re = new RegExp(`^(?:${digitRangePattern(lo, hi)})$`);
      for (let n = 0; n < 1000; n++) {
        assert.equal(re.test(String(n).padStart(3, '0')), n >= lo && n <= hi, `${n} in ${lo}..${hi} (${re.source})`);
      }
    }
  });

  it('writes 250..499 compactly', () => {
    assert.equal(digitRangePattern(250, 499), '2[5-9]\\d|[3-4]\\d\\d');
  });
});

describe('the slot map', () => {
  /** The cache key nginx computes for unix time `t` ms, as the map writes it. */
  function keyAt(patterns: { pattern: RegExp; value: string }[], t: number): string {
    const msec = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
    const hits = patterns.filter((p) => p.pattern.test(msec));
    assert.equal(hits.length, 1, `${msec} matches one slot`);
    return hits[0]!.value.replace('$1', hits[0]!.pattern.exec(msec)![1]!);
  }

  /** The key changes exactly at every `period` ms edge, millisecond by millisecond. */
  function assertKeyChangesEvery(patterns: { pattern: RegExp; value: string }[], period: number): void {
    // Across 1,700,000,000 s, where every window (1, 10, 100, 1000 s) starts anew.
    const start = 1_699_999_998_500;
    let last = keyAt(patterns, start);
    for (let t = start + 1; t < start + 3000; t++) {
      const key = keyAt(patterns, t);
      assert.equal(key !== last, Math.floor(t / period) !== Math.floor((t - 1) / period), `key ${last} -> ${key} at ${t}`);
      last = key;
    }
  }

  // Divisors of 1 s, then intervals whose slots fill 10 s (400, 625, 80), 100 s (800, 160).
  const windows: [number, number][] = [[20, 50], [25, 40], [40, 25], [50, 20], [100, 10], [125, 8], [200, 5], [250, 4], [500, 2], [400, 25], [625, 16], [80, 125], [800, 125], [160, 625]];
  for (const [interval, slots] of windows) {
    it(`changes the key exactly at the server's ${interval} ms slot edges (${slots} map entries)`, () => {
      const patterns = slotPatterns(render({ domain: 'a.example', interval, tls: 'off' }));
      assert.equal(patterns.length, slots);
      assertKeyChangesEvery(patterns, interval);
    });
  }

  // Slots with a factor of 3 or 7 never fill a window of decimal digits (300 ms edges fall
  // at .000, .300, .600, .900, then .200 the next second); 320 and 640 only with thousands
  // of entries. The longest interval below that does stands in: a pointer is then at most
  // one bucket (under one slot) old, and the origin sees one fetch per bucket.
  const standIns: [number, number][] = [[30, 25], [300, 250], [333, 250], [999, 800], [320, 250], [640, 625]];
  for (const [interval, bucket] of standIns) {
    it(`keys ${interval} ms slots on ${bucket} ms buckets, whose edges a pattern on $msec can follow`, () => {
      assert.equal(slotBucket(interval), bucket);
      const config = render({ domain: 'a.example', interval, tls: 'off' });
      const patterns = slotPatterns(config);
      assert.match(config, new RegExp(`# ${interval} ms slots do not fit decimal time .*: ${bucket} ms buckets stand in`));
      assertKeyChangesEvery(patterns, bucket);
    });
  }

  it('is left out from one second up, where the app s-maxage says it', () => {
    const config = render({ domain: 'a.example', interval: 1000, tls: 'off' });
    assert.equal(slotPatterns(config).length, 0);
    assert.match(locations(config).get('= /')!, /proxy_cache_key \$uri;/);
  });
});

describe('renderNginxConfig', () => {
  const files = render({ domain: 'Tpdne.Example.com', tls: 'certs/site.pem', tlsKey: '/etc/ssl/site.key', upstream: '127.0.0.1:9000' });

  it('redirects HTTP to HTTPS and serves TLS with the given files, absolute', () => {
    assert.match(files, /listen 80;\n {4}listen \[::\]:80;/);
    assert.match(files, /return 301 https:\/\/tpdne\.example\.com\$request_uri;/);
    assert.match(files, /listen 443 ssl http2;\n {4}listen \[::\]:443 ssl http2;/);
    assert.match(files, /ssl_certificate \/srv\/certs\/site\.pem;/);
    assert.match(files, /ssl_certificate_key \/etc\/ssl\/site\.key;/);
    assert.match(files, /ssl_protocols TLSv1\.2 TLSv1\.3;/);
    assert.match(files, /server 127\.0\.0\.1:9000;/);
  });

  it("uses certbot's paths for letsencrypt, and keeps ACME challenges on port 80", () => {
    const config = render({ domain: 'tpdne.example.com' });
    assert.match(config, /ssl_certificate \/etc\/letsencrypt\/live\/tpdne\.example\.com\/fullchain\.pem;/);
    assert.match(config, /ssl_certificate_key \/etc\/letsencrypt\/live\/tpdne\.example\.com\/privkey\.pem;/);
    assert.match(locations(config).get('^~ /.well-known/acme-challenge/')!, /root \/var\/www\/letsencrypt;/);
  });

  it('puts the port in the redirect when HTTPS is not on 443', () => {
    const config = render({ domain: 'a.example', tls: 'off.pem', tlsKey: 'k.pem', httpPort: 8081, httpsPort: 8443, listen: '127.0.0.1' });
    assert.match(config, /listen 127\.0\.0\.1:8081;/);
    assert.match(config, /listen 127\.0\.0\.1:8443 ssl http2;/);
    assert.doesNotMatch(config, /\[::\]/);
    assert.match(config, /return 301 https:\/\/a\.example:8443\$request_uri;/);
  });

  it('with --tls off serves plain HTTP only, without HSTS', () => {
    const config = render({ domain: 'a.example', tls: 'off' });
    assert.doesNotMatch(config, /ssl|443|Strict-Transport-Security|return 301/);
    assert.match(config, /add_header X-Frame-Options "\$tpdne_a_example_frame_options" always;/);
  });

  it('sends X-Frame-Options SAMEORIGIN everywhere but /embed, which the app lets any --frame-ancestors frame', () => {
    const map = /map \$uri \$tpdne_tpdne_example_com_frame_options \{\n([\s\S]*?)\n\}/.exec(files);
    assert.ok(map, files);
    assert.deepEqual(map[1]!.split('\n').map((l) => l.trim()), ['/embed "";', 'default "SAMEORIGIN";']);
    assert.doesNotMatch(files, /X-Frame-Options "SAMEORIGIN"/);
  });

  it('adds every security header once per server, with always, and never in a location (the inheritance trap)', () => {
    for (const tls of [true, false]) {
      const config = tls ? files : render({ domain: 'a.example', tls: 'off' });
      for (const [name, value] of securityHeaders(tls, tls ? '$tpdne_tpdne_example_com_frame_options' : '$tpdne_a_example_frame_options')) {
        const servers = tls ? 2 : 1;
        // Each server level; the HTTP redirect server has no HSTS (browsers ignore it there).
        const expected = name === 'Strict-Transport-Security' ? 1 : servers;
        assert.equal(config.split(`add_header ${name} "${value}" always;`).length - 1, expected, name);
      }
      for (const [where, body] of locations(config)) assert.doesNotMatch(body, /add_header/, `no add_header in location ${where}`);
    }
  });

  it('repeats every proxy header where a location sets its own (the same trap for proxy_set_header)', () => {
    for (const [where, body] of locations(files)) {
      if (!body.includes('proxy_set_header')) continue;
      for (const header of ['Host $host', 'X-Real-IP $remote_addr', 'X-Forwarded-For $proxy_add_x_forwarded_for', 'X-Forwarded-Proto $scheme']) {
        assert.ok(body.includes(`proxy_set_header ${header};`), `${header} in ${where}`);
      }
    }
    const stream = locations(files).get('= /stream')!;
    assert.match(stream, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(stream, /proxy_set_header Connection upgrade;/);
    assert.match(stream, /proxy_read_timeout 1h;/);
    assert.match(stream, /proxy_cache off;/);
  });

  it('caches pointers by slot with a lock, slot URLs as the app says, and never gzips images', () => {
    const where = locations(files);
    const image = where.get('~ ^/(?:image(?:\\.webp|\\.jpe?g)?|favicon\\.png)$')!;
    assert.match(image, /proxy_cache_key "\$uri \$tpdne_tpdne_example_com_slot";/);
    assert.match(image, /gzip off;/);
    assert.match(where.get('^~ /frames/')!, /gzip off;/);
    assert.match(files, /proxy_cache_lock on;\n {4}proxy_cache_lock_timeout 250ms;/);
    assert.match(files, /proxy_cache_path \/var\/lib\/nginx\/tpdne-tpdne_example_com levels=1:2 keys_zone=tpdne_tpdne_example_com:10m/);
    assert.match(files, /client_max_body_size 1k;/);
    assert.doesNotMatch(files, /gzip_types[^;]*image\/(webp|jpeg|png)/);
  });

  it('waits one slot for a cache fill, within 100 ms..1 s', () => {
    assert.deepEqual([20, 250, 700, 5000].map(cacheLockTimeout), [100, 250, 700, 1000]);
  });
});

describe('resolveNginxOptions rejects bad input in one line', () => {
  const bad: [NginxOptions, string][] = [
    [{}, 'Expected a domain name like tpdne.example.com for --domain but received nothing'],
    [{ domain: '' }, "Expected a domain name like tpdne.example.com for --domain but received ''"],
    [{ domain: 'exa mple.com' }, "Expected a domain name like tpdne.example.com for --domain but received 'exa mple.com'"],
    [{ domain: 'a.com;' }, "Expected a domain name like tpdne.example.com for --domain but received 'a.com;'"],
    [{ domain: '-a.com' }, "Expected a domain name like tpdne.example.com for --domain but received '-a.com'"],
    [{ domain: 'a-.com' }, "Expected a domain name like tpdne.example.com for --domain but received 'a-.com'"],
    [{ domain: 'a..com' }, "Expected a domain name like tpdne.example.com for --domain but received 'a..com'"],
    [{ domain: '*.a.com' }, "Expected a domain name like tpdne.example.com for --domain but received '*.a.com'"],
    [{ domain: 'a_b.com' }, "Expected a domain name like tpdne.example.com for --domain but received 'a_b.com'"],
    [{ domain: '10.0.0.1' }, "Expected a domain name like tpdne.example.com for --domain but received '10.0.0.1'"],
    [{ domain: `${'x'.repeat(64)}.com` }, `Expected a domain name like tpdne.example.com for --domain but received '${'x'.repeat(64)}.com'`],
    [{ domain: 'a.com', upstream: '8080' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received '8080'"],
    [{ domain: 'a.com', upstream: 'a.com:0' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received 'a.com:0'"],
    [{ domain: 'a.com', upstream: 'a.com:70000' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received 'a.com:70000'"],
    [{ domain: 'a.com', upstream: '[zz]:80' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received '[zz]:80'"],
    [{ domain: 'a.com', upstream: 'a b:80' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received 'a b:80'"],
    [{ domain: 'a.com', upstream: '1.2.3.4:80;' }, "Expected host:port like 127.0.0.1:8080 for --upstream but received '1.2.3.4:80;'"],
    [{ domain: 'a.com', tls: 'my cert.pem', tlsKey: 'k.pem' }, "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --tls but received 'my cert.pem'"],
    [{ domain: 'a.com', tls: 'c.pem', tlsKey: 'k;.pem' }, "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --tls-key but received 'k;.pem'"],
    [{ domain: 'a.com', tlsCert: '$x.pem', tlsKey: 'k.pem' }, "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --tls-cert but received '$x.pem'"],
    [{ domain: 'a.com', tls: 'c.pem' }, 'Expected the key of certificate /srv/c.pem (--tls <cert> <key>, or --tls-key <file>) for --tls-key but received nothing'],
    [{ domain: 'a.com', tls: 'c.pem', tlsCert: 'd.pem', tlsKey: 'k.pem' }, "Expected one certificate (--tls <cert> <key> or --tls-cert) for --tls-cert but received 'd.pem'"],
    [{ domain: 'a.com', tls: 'off', tlsKey: 'k.pem' }, "Expected no key with --tls off for --tls-key but received 'k.pem'"],
    [{ domain: 'a.com', tlsKey: 'k.pem' }, "Expected no key with --tls letsencrypt for --tls-key but received 'k.pem'"],
    [{ domain: 'a.com', letsencryptDir: '/etc/{x}' }, "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --letsencrypt-dir but received '/etc/{x}'"],
    [{ domain: 'a.com', cacheDir: '/var/cache/a#b' }, "Expected a path without spaces, quotes or any of ; { } $ # % \\ for --cache-dir but received '/var/cache/a#b'"],
    [{ domain: 'a.com', httpPort: '0' }, "Expected integer between 1 and 65535 for --http-port but received '0'"],
    [{ domain: 'a.com', httpsPort: 80 }, 'Expected a port other than --http-port 80 for --https-port but received 80'],
    [{ domain: 'a.com', listen: 'localhost' }, "Expected an IP address like 127.0.0.1 or [::1] for --listen but received 'localhost'"],
    [{ domain: 'a.com', interval: '10' }, "Expected integer between 20 and 3600000 for --interval but received '10'"],
    [{ domain: 'a.com', gzip: true } as NginxOptions, 'Expected a known option for --gzip but received true'],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => resolveNginxOptions({ cwd: '/srv', ...input }), { code: 'ERR_INVALID_OPTION', message });
    });
  }

  it('accepts IPv6 and host-name upstreams and IPv6 listen addresses', () => {
    assert.deepEqual(resolveNginxOptions({ domain: 'a.com', upstream: '[::1]:8080', listen: '::1' }).upstream, { host: '[::1]', port: 8080 });
    assert.equal(resolveNginxOptions({ domain: 'a.com', listen: '::1' }).listen, '[::1]');
    assert.deepEqual(resolveNginxOptions({ domain: 'a.com', upstream: 'LocalHost:80' }).upstream, { host: 'localhost', port: 80 });
  });
});
