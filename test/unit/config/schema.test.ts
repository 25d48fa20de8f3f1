import { describe, expect, it } from 'vitest';
import { type ConfigProblem, DEFAULT_CONFIG_PATH, loadConfigFile, parseConfigText, validateConfig } from '../../../src/config/load.js';
import { type Config, crossCheck, defaultInstanceName } from '../../../src/config/schema.js';

function valid(raw: unknown): Config {
  const r = validateConfig(raw);
  if (!r.ok) throw new Error(`expected a valid config, got:\n${JSON.stringify(r.problems, null, 2)}`);
  return r.config;
}

function problemsOf(raw: unknown): ConfigProblem[] {
  const r = validateConfig(raw);
  if (r.ok) throw new Error('expected problems, the config validated');
  return r.problems;
}

const ONE_TRUNK = { accounts: [{ name: 'acme', type: 'business-pcp' }], trunks: [{ name: 'acme', account: 'acme' }] };

describe('the built-in default configuration (SPEC §7.1, examples/trunkgate.yaml)', () => {
  const result = loadConfigFile(DEFAULT_CONFIG_PATH);
  const config = result.ok ? result.config : undefined;

  it('is examples/trunkgate.yaml and validates', () => {
    expect(DEFAULT_CONFIG_PATH.replace(/\\/g, '/')).toMatch(/\/examples\/trunkgate\.yaml$/);
    expect(result.ok ? [] : result.problems).toEqual([]);
  });

  it('has account demo, business-pcp, active, not legacy', () => {
    expect(config?.accounts).toHaveLength(1);
    expect(config?.accounts[0]).toMatchObject({ name: 'demo', type: 'business-pcp', legacy: false, active: true, geoPermissions: ['1'] });
  });

  it('has trunk demo on account demo: CPS 1 in every region, ACL 127.0.0.0/8 and ::1/128, no credentials, builtin route', () => {
    expect(config?.trunks).toHaveLength(1);
    const trunk = config?.trunks[0];
    expect(trunk?.name).toBe('demo');
    expect(trunk?.account).toBe('demo');
    expect(trunk?.region).toBe('us1');
    expect(trunk?.cps).toEqual({ default: 1 });
    expect(trunk?.burst).toBeNull();
    expect(trunk?.maxConcurrentCalls).toBeNull();
    expect(trunk?.auth).toEqual({ ipAcl: ['127.0.0.0/8', '::1/128'], credentials: [] });
    expect(trunk?.route).toBe('builtin');
  });

  it('listens for SIP on UDP and TCP 127.0.0.1:5060 and HTTP on 127.0.0.1:8080', () => {
    expect(config?.sip.listen).toEqual(['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060']);
    expect(config?.sip.domainSuffix).toBe('pstn.twilio.com');
    expect(config?.sip.unknownDomain).toBe('drop');
    expect(config?.http).toEqual({ listen: '127.0.0.1:8080', token: null, allowedHosts: [], metricsRequireToken: false });
  });

  it('has the PSTN rules: +1555000486* busy, +1555000480* no-answer, +1555000503* reject 503', () => {
    expect(config?.pstn.rules).toEqual([
      { number: '+1555000486*', behaviour: 'busy' },
      { number: '+1555000480*', behaviour: 'no-answer' },
      { number: '+1555000503*', behaviour: 'reject', status: 503 },
    ]);
    expect(config?.pstn).toMatchObject({ answerAfterMs: 1000, earlyMedia: false, ringTimeoutMs: 60_000 });
  });
});

describe('defaults are explicit (SPEC §7.2)', () => {
  it('an empty object gives every documented default', () => {
    expect(valid({})).toEqual({
      sip: {
        listen: ['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060'],
        domainSuffix: 'pstn.twilio.com',
        unknownDomain: 'drop',
        fallbackTrunk: null,
        timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 },
        diagnostics: false,
        tcpIdleTimeoutMs: 120_000,
        maxMessageBytes: 65_535,
        tcpMessageTimeoutMs: 20_000,
        maxTcpConnections: 1024,
        maxTcpConnectionsPerSource: null,
        advertisedAddress: null,
        tls: { cert: null, key: null, ca: null, verifyCarriers: true },
        clientDomainSuffix: 'client.twilio.com',
        clientRegistration: { minExpiresSeconds: 60, maxExpiresSeconds: 3600, maxBindingsPerIdentity: 10 },
        wsPingIntervalMs: 30_000,
      },
      shutdown: { drainMs: 30_000 },
      http: { listen: '127.0.0.1:8080', token: null, allowedHosts: [], metricsRequireToken: false },
      blocklist: [],
      cps: { algorithm: 'token-bucket', selfServeMaxCps: 5, toleranceMs: null },
      accounts: [],
      trunks: [],
      pstn: { answerAfterMs: 1000, earlyMedia: false, ringTimeoutMs: 60_000, hangupAfterMs: null, rules: [] },
      voice: { queueMaxWaitSeconds: 86_400, webhookTimeoutMs: 15_000, maxEndedCallsPerAccount: 10_000, maxEndedConferencesPerAccount: 1000 },
      security: {
        digest: { algorithms: ['MD5'], requireUriMatch: true, maxFailures: 10, failureWindowSeconds: 60, banSeconds: 600 },
        sourceRateLimit: { enabled: false, requestsPerSecond: 50, burst: 100, blockSeconds: 30 },
      },
      limits: { store: 'memory', onStoreFailure: 'closed', leaseTtlMs: 30_000, storeTimeoutMs: 500, keyPrefix: 'trunkgate' },
      instance: defaultInstanceName(),
      observability: { messageStore: { maxCalls: 500, maxBytes: 4_194_304, maxMessagesPerCall: 200 }, hep: null, hepCaptureId: 2001, refusalLogLinesPerSecond: 20 },
    });
  });

  it.each([
    ['tcp://127.0.0.1:9060', 'HEP goes over UDP: expected udp://HOST:PORT, e.g. udp://127.0.0.1:9060, not tcp://'],
    ['udp://127.0.0.1:0', 'expected the address and port of the HEP collector, e.g. udp://127.0.0.1:9060'],
    ['udp://0.0.0.0:9060', 'expected the address and port of the HEP collector, e.g. udp://127.0.0.1:9060'],
    ['homer:9060', '"homer:9060" is not a HEP collector address: expected udp://HOST:PORT, e.g. udp://127.0.0.1:9060'],
  ])('observability.hep %j is refused: %s', (hep, message) => {
    const r = validateConfig({ observability: { hep } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([{ path: 'observability.hep', value: hep, message }]);
  });

  it('observability.hep takes udp://HOST:PORT, IPv6 too', () => {
    expect(valid({ observability: { hep: 'udp://[::1]:9060' } }).observability.hep).toBe('udp://[::1]:9060');
  });

  it('an empty file and a null document are the same as {}', () => {
    const empty = parseConfigText('');
    const nullDoc = parseConfigText('null\n');
    expect(empty).toEqual({ ok: true, config: valid({}) });
    expect(nullDoc).toEqual({ ok: true, config: valid({}) });
  });

  it('an account gets legacy false, active true, geoPermissions ["1"] and the rest', () => {
    const account = valid({ accounts: [{ name: 'a', type: 'trial' }] }).accounts[0];
    expect(account).toEqual({
      name: 'a',
      type: 'trial',
      legacy: false,
      active: true,
      limits: {},
      verifiedNumbers: [],
      geoPermissions: ['1'],
      extendedCallDuration: false,
      apiKeys: [],
      voiceCps: 1,
      clients: [],
      clientVoiceUrl: null,
      clientVoiceMethod: 'POST',
      numbers: [],
    });
  });

  it('client keys (SPEC §13): identities unique per account, passwords and URLs checked, wss needs a certificate off loopback', () => {
    const r = validateConfig({
      sip: { listen: ['wss://192.0.2.1:443'], clientRegistration: { minExpiresSeconds: 600, maxExpiresSeconds: 60 } },
      accounts: [
        {
          name: 'a',
          type: 'trial',
          clients: [
            { identity: 'alice', password: 'alice-pass-1' },
            { identity: 'alice', password: 'alice-pass-2' },
            { identity: 'bad name', password: 'short' },
          ],
          clientVoiceUrl: 'http://my_app/voice',
        },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'sip.listen[0]',
        'sip.clientRegistration.maxExpiresSeconds',
        'accounts[0].clients[1].identity',
        'accounts[0].clients[2].identity',
        'accounts[0].clients[2].password',
        'accounts[0].clientVoiceUrl',
      ]),
    );
    // the password is a secret: never printed
    expect(JSON.stringify(r.problems)).not.toContain('short');
    expect(valid({ sip: { listen: ['ws://127.0.0.1:0', 'wss://[::1]:0'] } }).sip.listen).toEqual(['ws://127.0.0.1:0', 'wss://[::1]:0']);
  });

  it('Programmable Voice keys (SPEC §13): checked with their paths; API key and account SIDs unique', () => {
    const r = validateConfig({
      accounts: [
        { name: 'a', sid: 'AC' + '1'.repeat(32), type: 'trial', authToken: 'short', apiKeys: [{ sid: 'SK' + '2'.repeat(32), secret: 'secret-123' }], voiceCps: -1 },
        { name: 'b', sid: 'AC' + '1'.repeat(32), type: 'trial', apiKeys: [{ sid: 'SK' + '2'.repeat(32), secret: 'secret-456' }, { sid: 'KS1', secret: 'x' }] },
      ],
      voice: { queueMaxWaitSeconds: 0 },
    });
    expect(r.ok).toBe(false);
    const paths = r.ok ? [] : r.problems.map((p) => p.path);
    for (const p of ['accounts[0].authToken', 'accounts[0].voiceCps', 'accounts[1].sid', 'accounts[1].apiKeys[0].sid', 'accounts[1].apiKeys[1].sid', 'accounts[1].apiKeys[1].secret', 'voice.queueMaxWaitSeconds']) {
      expect(paths, p).toContain(p);
    }
  });

  it('a trunk gets region us1, CPS 1, no burst, no cap, no auth, the builtin route, a 180-s ring timeout', () => {
    expect(valid(ONE_TRUNK).trunks[0]).toEqual({
      name: 'acme',
      account: 'acme',
      region: 'us1',
      cps: { default: 1 },
      burst: null,
      maxConcurrentCalls: null,
      auth: { ipAcl: [], credentials: [] },
      route: 'builtin',
      ringTimeoutMs: 180_000,
      secure: false,
      transferMode: 'disable-all',
      transferCallerId: 'from-transferee',
      origination: { uris: [], disasterRecoveryMethod: 'POST', numbers: [] },
    });
  });

  it('a partly given section keeps the defaults of the keys it leaves out', () => {
    const c = valid({
      sip: { timers: { t1Ms: 250 } },
      accounts: [{ name: 'acme', type: 'business-pcp' }],
      trunks: [{ name: 'acme', account: 'acme', cps: { ie1: 2 }, auth: { ipAcl: ['10.0.0.0/8'] } }],
      pstn: { earlyMedia: true },
    });
    expect(c.sip.timers).toEqual({ t1Ms: 250, t2Ms: 4000, t4Ms: 5000 });
    expect(c.sip.listen).toEqual(['udp://127.0.0.1:5060', 'tcp://127.0.0.1:5060']);
    expect(c.trunks[0]?.cps).toEqual({ default: 1, ie1: 2 });
    expect(c.trunks[0]?.auth).toEqual({ ipAcl: ['10.0.0.0/8'], credentials: [] });
    expect(c.pstn).toEqual({ answerAfterMs: 1000, earlyMedia: true, ringTimeoutMs: 60_000, hangupAfterMs: null, rules: [] });
  });

  it('the full example of SPEC §7.2 validates as written', () => {
    const r = parseConfigText(`
sip:
  listen: ["udp://127.0.0.1:5060", "tcp://127.0.0.1:5060"]
  domainSuffix: pstn.twilio.com
  unknownDomain: drop
  timers: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }
  diagnostics: false
shutdown:
  drainMs: 30000
http:
  listen: "127.0.0.1:8080"
  token: null
blocklist: ["+1900*"]
cps:
  algorithm: token-bucket
  selfServeMaxCps: 5
accounts:
  - name: acme
    sid: AC00000000000000000000000000000001
    type: business-pcp
    legacy: false
    active: true
    limits: { trunkingConcurrentCalls: 10, voiceConcurrentCalls: 10 }
    pooledCps: { us1: 25 }
    callerIds: ["+14155550100"]
    verifiedNumbers: ["+14155550111"]
    geoPermissions: ["1", "44"]
    extendedCallDuration: false
trunks:
  - name: acme
    account: acme
    region: us1
    cps: { default: 1, ie1: 2 }
    burst: null
    maxConcurrentCalls: null
    auth:
      ipAcl: ["127.0.0.0/8"]
      credentials: [{ username: pbx, password: "Secret-pass-123" }]
    route: builtin
pstn:
  answerAfterMs: 1000
  earlyMedia: false
  ringTimeoutMs: 60000
  rules:
    - { number: "+1555000486*", behaviour: busy }
    - { number: "+1555000480*", behaviour: no-answer }
`);
    expect(r.ok ? [] : r.problems).toEqual([]);
    if (!r.ok) return;
    expect(r.config.accounts[0]).toMatchObject({
      sid: 'AC00000000000000000000000000000001',
      pooledCps: { us1: 25 },
      geoPermissions: ['1', '44'],
    });
    expect(r.config.trunks[0]?.auth.credentials).toEqual([{ username: 'pbx', password: 'Secret-pass-123' }]);
    expect(r.config.blocklist).toEqual(['+1900*']);
  });
});

describe('unknown keys are errors at every level, with their path', () => {
  const withTrunk = (
    patch: (raw: { accounts: Array<Record<string, unknown>>; trunks: Array<Record<string, unknown>> }) => void,
  ): unknown => {
    const raw = structuredClone(ONE_TRUNK) as { accounts: Array<Record<string, unknown>>; trunks: Array<Record<string, unknown>> };
    patch(raw);
    return raw;
  };

  it.each<[string, unknown]>([
    ['sipp', { sipp: {} }],
    ['sip.unknownDomian', { sip: { unknownDomian: 'reject' } }],
    ['sip.timers.t3Ms', { sip: { timers: { t3Ms: 1 } } }],
    ['shutdown.drainSeconds', { shutdown: { drainSeconds: 3 } }],
    ['http.port', { http: { port: 8080 } }],
    ['cps.burst', { cps: { burst: 2 } }],
    ['pstn.answerAfter', { pstn: { answerAfter: 10 } }],
    ['pstn.rules[0].behavior', { pstn: { rules: [{ number: '*', behaviour: 'answer', behavior: 'busy' }] } }],
    ['accounts[0].tpye', withTrunk((r) => (r.accounts[0] = { ...r.accounts[0], tpye: 'trial' }))],
    ['accounts[0].limits.concurrentCalls', withTrunk((r) => (r.accounts[0] = { ...r.accounts[0], limits: { concurrentCalls: 3 } }))],
    ['trunks[0].acount', withTrunk((r) => (r.trunks[0] = { ...r.trunks[0], acount: 'acme' }))],
    ['trunks[0].auth.acl', withTrunk((r) => (r.trunks[0] = { ...r.trunks[0], auth: { acl: [] } }))],
    [
      'trunks[0].auth.credentials[0].user',
      withTrunk((r) => (r.trunks[0] = { ...r.trunks[0], auth: { credentials: [{ username: 'u', password: 'p', user: 'u' }] } })),
    ],
  ])('%s', (path, raw) => {
    const problems = problemsOf(raw);
    expect(problems).toEqual([{ path, value: expect.anything() as unknown, message: expect.stringMatching(/^unknown key/) as unknown }]);
  });

  it('reports the value found under the unknown key', () => {
    expect(problemsOf({ sip: { unknownDomian: 'reject' } })[0]?.value).toBe('reject');
  });

  it('an unknown region key in a trunk cps map is reported as an unknown region', () => {
    const problems = problemsOf(withTrunk((r) => (r.trunks[0] = { ...r.trunks[0], cps: { default: 1, eu1: 3 } })));
    expect(problems).toEqual([
      {
        path: 'trunks[0].cps.eu1',
        value: 3,
        message: expect.stringMatching(/unknown region "eu1"; expected default or one of us1, us2/) as unknown,
      },
    ]);
  });
});

describe('a file with many problems lists every one, with path, value and message', () => {
  const raw = {
    sip: { unknownDomian: 'reject', unknownDomain: 'ignore', fallbackTrunk: 'nope', timers: { t1Ms: 'fast' } },
    shutdown: { drainMs: -5 },
    http: { listen: 'localhost', token: 'short' },
    cps: { algorithm: 'leaky' },
    blocklist: ['1900'],
    accounts: [
      { name: 'acme', type: 'gold' },
      { name: 'acme', type: 'trial', geoPermissions: ['+44'] },
    ],
    trunks: [
      { name: 'main', acount: 'acme', account: 'ghost', cps: { default: -1, eu1: 2 }, route: 'http://x', auth: { ipAcl: ['10.0.0.0/33'] } },
      { name: 'main', account: 'acme', region: 'mars' },
    ],
    pstn: {
      rules: [
        { number: '+1555*', behaviour: 'reject' },
        { number: 'abc', behaviour: 'ring' },
      ],
    },
  };

  const expected: Array<[string, unknown, RegExp]> = [
    ['sip.unknownDomian', 'reject', /^unknown key/],
    ['sip.unknownDomain', 'ignore', /expected one of "drop"\|"reject"/],
    ['sip.timers.t1Ms', 'fast', /expected number/],
    ['sip.fallbackTrunk', 'nope', /^no trunk named "nope"; expected one of: main$/],
    ['shutdown.drainMs', -5, />=0|too small/i],
    ['http.listen', 'localhost', /expected HOST:PORT/],
    // a secret is never printed, not even a wrong one (config/secrets.ts)
    ['http.token', '<redacted>', /at least 8 characters/],
    ['cps.algorithm', 'leaky', /token-bucket/],
    ['blocklist[0]', '1900', /expected an E\.164 number/],
    ['accounts[0].type', 'gold', /"trial"\|"no-pcp"\|"individual-pcp"\|"business-pcp"/],
    ['accounts[1].name', 'acme', /^duplicate account name "acme"$/],
    ['accounts[1].geoPermissions[0]', '+44', /country calling code/],
    ['trunks[0].acount', 'acme', /^unknown key/],
    ['trunks[0].account', 'ghost', /^no account named "ghost"; expected one of: acme$/],
    ['trunks[0].cps.default', -1, /CPS cannot be negative/],
    ['trunks[0].cps.eu1', 2, /unknown region "eu1"/],
    ['trunks[0].route', 'http://x', /expected builtin, or sip:IP:PORT/],
    ['trunks[0].auth.ipAcl[0]', '10.0.0.0/33', /CIDR/],
    ['trunks[1].name', 'main', /^duplicate trunk name "main"$/],
    ['trunks[1].region', 'mars', /"us1"/],
    ['pstn.rules[0].status', undefined, /^a reject rule needs a status \(300-699\)$/],
    ['pstn.rules[1].number', 'abc', /expected an E\.164 number/],
    ['pstn.rules[1].behaviour', 'ring', /"no-answer"/],
  ];

  const problems = problemsOf(raw);

  it.each(expected)('%s', (path, value, message) => {
    const found = problems.filter((p) => p.path === path);
    expect(found, `problems at ${path}: ${JSON.stringify(problems)}`).toHaveLength(1);
    expect(found[0]?.value).toEqual(value);
    expect(found[0]?.message).toMatch(message);
  });

  it('and nothing else', () => {
    expect(problems.map((p) => p.path).sort()).toEqual(expected.map(([p]) => p).sort());
  });

  it('a missing required key is reported as required, with an undefined value', () => {
    const p = problemsOf({ accounts: [{ name: 'a' }], trunks: [{ account: 'a' }] });
    expect(p).toEqual([
      {
        path: 'accounts[0].type',
        value: undefined,
        message: expect.stringMatching(/expected one of "trial"\|"no-pcp"\|"individual-pcp"\|"business-pcp"/) as unknown,
      },
      { path: 'trunks[0].name', value: undefined, message: 'required (expected string)' },
    ]);
  });

  it('a document that is not a mapping is one problem for the whole file', () => {
    expect(problemsOf(['sip'])).toEqual([{ path: '', value: ['sip'], message: expect.stringMatching(/expected object/) as unknown }]);
    expect(problemsOf('hello')).toEqual([{ path: '', value: 'hello', message: expect.stringMatching(/expected object/) as unknown }]);
  });
});

describe('crossCheck', () => {
  it('finds nothing in a consistent configuration', () => {
    expect(
      crossCheck({ ...ONE_TRUNK, sip: { fallbackTrunk: 'acme' }, pstn: { rules: [{ number: '*', behaviour: 'reject', status: 404 }] } }),
    ).toEqual([]);
  });

  it('says when there are no accounts or no trunks to name', () => {
    expect(crossCheck({ trunks: [{ name: 'a', account: 'x' }] })).toEqual([
      { path: ['trunks', 0, 'account'], message: 'no account named "x"; expected one of: (no accounts configured)' },
    ]);
    expect(crossCheck({ sip: { fallbackTrunk: 'x' } })).toEqual([
      { path: ['sip', 'fallbackTrunk'], message: 'no trunk named "x"; expected one of: (no trunks configured)' },
    ]);
  });

  it('tolerates any shape of input (it runs on raw, unvalidated data)', () => {
    for (const raw of [
      null,
      undefined,
      42,
      'x',
      [],
      { accounts: 'x', trunks: 5, sip: [], pstn: { rules: {} } },
      { accounts: [null, 1], trunks: [null, 'x', { cps: 5 }] },
    ]) {
      expect(crossCheck(raw)).toEqual([]);
    }
  });
});

describe('values', () => {
  it.each([
    ['a trunk name with capitals', { ...ONE_TRUNK, trunks: [{ name: 'Acme', account: 'acme' }] }, 'trunks[0].name'],
    [
      'a trunk route sip: with a host name',
      { ...ONE_TRUNK, trunks: [{ name: 'acme', account: 'acme', route: 'sip:carrier.example:5060' }] },
      'trunks[0].route',
    ],
    [
      'a trunk route with a port over 65535',
      { ...ONE_TRUNK, trunks: [{ name: 'acme', account: 'acme', route: 'sip:127.0.0.1:70000' }] },
      'trunks[0].route',
    ],
    ['a burst below 1', { ...ONE_TRUNK, trunks: [{ name: 'acme', account: 'acme', burst: 0.5 }] }, 'trunks[0].burst'],
    [
      'a fractional concurrency cap',
      { ...ONE_TRUNK, trunks: [{ name: 'acme', account: 'acme', maxConcurrentCalls: 1.5 }] },
      'trunks[0].maxConcurrentCalls',
    ],
    ['a sid that is not AC + 32 hex', { accounts: [{ name: 'a', type: 'trial', sid: 'AC123' }] }, 'accounts[0].sid'],
    ['a caller id that is not E.164', { accounts: [{ name: 'a', type: 'trial', callerIds: ['4155550100'] }] }, 'accounts[0].callerIds[0]'],
    ['an empty listen list', { sip: { listen: [] } }, 'sip.listen'],
    ['a listen URL with a host name', { sip: { listen: ['udp://localhost:5060'] } }, 'sip.listen[0]'],
    ['a domain suffix without a dot', { sip: { domainSuffix: 'localhost' } }, 'sip.domainSuffix'],
    ['a reject status below 300', { pstn: { rules: [{ number: '*', behaviour: 'reject', status: 200 }] } }, 'pstn.rules[0].status'],
  ])('rejects %s', (_what, raw, path) => {
    expect(problemsOf(raw).map((p) => p.path)).toEqual([path]);
  });

  it.each([
    [
      'routes sip:IP:PORT with a transport, and bracketed IPv6',
      ['builtin', 'sip:127.0.0.1:5080', 'sip:127.0.0.1:5080;transport=tcp', 'sip:[::1]:5080;transport=udp', 'sip:localhost:5080'],
    ],
  ])('accepts %s', (_what, routes) => {
    for (const route of routes) {
      expect(validateConfig({ ...ONE_TRUNK, trunks: [{ name: 'acme', account: 'acme', route }] }).ok, route).toBe(true);
    }
  });

  it('pooledCps names only the regions it sets (SPEC §3: optional per account and region)', () => {
    expect(valid({ accounts: [{ name: 'a', type: 'business-pcp', pooledCps: { us1: 25 } }] }).accounts[0]?.pooledCps).toEqual({ us1: 25 });
    const p = problemsOf({ accounts: [{ name: 'a', type: 'business-pcp', pooledCps: { eu1: 25, us2: -1 } }] });
    expect(p.map((x) => [x.path, x.value])).toEqual([
      ['accounts[0].pooledCps.us2', -1],
      ['accounts[0].pooledCps.eu1', 25],
    ]);
  });

  it('accepts fractional CPS and any region key of the table', () => {
    const c = valid({
      ...ONE_TRUNK,
      trunks: [{ name: 'acme', account: 'acme', cps: { default: 0.5, us1: 1, us2: 2, ie1: 3, de1: 4, sg1: 5, jp1: 6, br1: 7, au1: 8 } }],
    });
    expect(c.trunks[0]?.cps).toEqual({ default: 0.5, us1: 1, us2: 2, ie1: 3, de1: 4, sg1: 5, jp1: 6, br1: 7, au1: 8 });
  });
});

describe('pstn rule and http checks added after review', () => {
  it('a hangup-after rule needs hangupAfterMs, on the rule or the pstn section', async () => {
    const { validateConfig } = await import('../../../src/config/load.js');
    const bad = validateConfig({ pstn: { rules: [{ number: '+1*', behaviour: 'hangup-after' }] } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems.map((p) => p.path)).toEqual(['pstn.rules[0].hangupAfterMs']);
    expect(validateConfig({ pstn: { hangupAfterMs: 500, rules: [{ number: '+1*', behaviour: 'hangup-after' }] } }).ok).toBe(true);
    expect(validateConfig({ pstn: { rules: [{ number: '+1*', behaviour: 'hangup-after', hangupAfterMs: 1 }] } }).ok).toBe(true);
  });

  it('http.listen must name a port in 0-65535', async () => {
    const { validateConfig } = await import('../../../src/config/load.js');
    const bad = validateConfig({ http: { listen: '127.0.0.1:99999' } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0]?.path).toBe('http.listen');
    expect(validateConfig({ http: { listen: '127.0.0.1:0' } }).ok).toBe(true);
  });
});

describe('TLS across fields (SPEC §9)', () => {
  const base = { accounts: [{ name: 'acme', type: 'business-pcp' }], trunks: [{ name: 'acme', account: 'acme', auth: { ipAcl: ['127.0.0.0/8'] } }] };
  const paths = (raw: unknown): string[] => {
    const r = validateConfig(raw);
    return r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`);
  };

  it('a loopback tls:// listener needs no certificate (one is made at start)', () => {
    expect(paths({ ...base, sip: { listen: ['tls://127.0.0.1:5061', 'tls://[::1]:5061'] } })).toEqual([]);
  });

  it('a tls:// listener others can reach needs sip.tls.cert and key', () => {
    expect(paths({ ...base, sip: { listen: ['udp://127.0.0.1:5060', 'tls://0.0.0.0:5061'] } })).toEqual([
      'sip.listen[1]: a tls:// listener on 0.0.0.0 needs sip.tls.cert and sip.tls.key (a self-signed certificate is made only for loopback listeners)',
    ]);
    expect(paths({ ...base, sip: { listen: ['tls://0.0.0.0:5061'], tls: { cert: '/c.pem', key: '/k.pem' } } })).toEqual([]);
  });

  it('cert and key go together', () => {
    expect(paths({ ...base, sip: { tls: { cert: '/c.pem' } } })).toEqual([
      'sip.tls.key: sip.tls.cert and sip.tls.key go together: give both, or neither (a self-signed certificate for loopback)',
    ]);
  });

  it('a route or a secure trunk needs a listener of its transport', () => {
    const trunk = { name: 'acme', account: 'acme', auth: { ipAcl: ['127.0.0.0/8'] }, route: 'sip:127.0.0.1:5071;transport=tls', secure: true };
    expect(paths({ ...base, trunks: [trunk] })).toEqual([
      'trunks[0].route: a tls route needs a tls:// listener in sip.listen (it names our address in Via and Contact)',
      'trunks[0].secure: a secure trunk takes calls over TLS only: add a tls:// listener to sip.listen',
    ]);
    expect(paths({ ...base, sip: { listen: ['udp://127.0.0.1:5060', 'tls://127.0.0.1:5061'] }, trunks: [trunk] })).toEqual([]);
  });
});
