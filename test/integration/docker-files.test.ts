/**
 * docker/ checked offline (no Docker engine here): the compose file, the
 * Dockerfile, the container config, Prometheus's scrape config and the
 * Grafana dashboard agree with each other, with the default configuration and
 * with the metric table. Each check is a function that returns its problems;
 * the last describe feeds each one a broken input, so that none of them can
 * pass whatever it is given.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DISPOSITIONS } from '../../src/b2bua/call.js';
import { cidrMatcher } from '../../src/config/cidr.js';
import { loadConfigFile } from '../../src/config/load.js';
import { type Config } from '../../src/config/schema.js';
import { type MetricDefinition, METRIC_LIST } from '../../src/metrics/definitions.js';
import { type TransportName, parseListenUrl } from '../../src/sip/transport/listen-url.js';
import { ATTEMPT_OUTCOMES } from '../../src/termination/admission.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKER = join(ROOT, 'docker');
const at = (...parts: string[]): string => join(ROOT, ...parts);
const text = (path: string): string => readFileSync(path, 'utf8');

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const rec = (v: unknown): Rec => (isRec(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const clone = <T>(v: T): T => structuredClone(v);

function loadValid(path: string): Config {
  const r = loadConfigFile(path);
  if (!r.ok) throw new Error(`${path} is not a valid trunkgate config:\n${JSON.stringify(r.problems, null, 2)}`);
  return r.config;
}

// ---------------------------------------------------------------------------------------------
// the configurations

interface Ports {
  /** SIP port per transport. */
  sip: Partial<Record<TransportName, number>>;
  http: number;
}

function portsOf(config: Config): Ports {
  const sip: Ports['sip'] = {};
  for (const url of config.sip.listen) {
    const r = parseListenUrl(url);
    if (r.ok) sip[r.spec.transport] = r.spec.port;
  }
  return { sip, http: Number(/:(\d+)$/.exec(config.http.listen)?.[1]) };
}

/** Inside a container the gateway must listen on every address, not on loopback. */
function containerListenProblems(config: Config): string[] {
  const problems: string[] = [];
  const wildcard = (host: string): boolean => host === '0.0.0.0' || host === '::';
  for (const url of config.sip.listen) {
    const r = parseListenUrl(url);
    if (!r.ok || !wildcard(r.spec.host)) problems.push(`sip.listen ${url}: expected 0.0.0.0 or [::]`);
  }
  const ports = portsOf(config);
  if (ports.sip.udp === undefined || ports.sip.tcp === undefined) problems.push('sip.listen: expected both udp:// and tcp://');
  if (ports.sip.udp !== ports.sip.tcp) problems.push(`sip.listen: UDP port ${ports.sip.udp} and TCP port ${ports.sip.tcp} differ`);
  if (!/^(0\.0\.0\.0|\[::\]):\d+$/.test(config.http.listen)) problems.push(`http.listen ${config.http.listen}: expected 0.0.0.0:PORT`);
  return problems;
}

/** The docker config means the default one, but for where it listens, the names it answers to and whom the ACL admits. */
function withoutContainerSettings(config: Config): unknown {
  const c = clone(config) as unknown as Rec;
  rec(c['sip'])['listen'] = '(container)';
  rec(c['http'])['listen'] = '(container)';
  rec(c['http'])['allowedHosts'] = '(container)';
  for (const t of arr(c['trunks'])) rec(rec(t)['auth'])['ipAcl'] = '(container)';
  return c;
}

// ---------------------------------------------------------------------------------------------
// compose.yaml

interface PublishedPort {
  hostIp?: string;
  published?: number;
  target: number;
  protocol: string;
}

function publishedPorts(service: Rec): PublishedPort[] {
  return arr(service['ports']).map((p) => {
    if (isRec(p)) {
      const published = str(p['published']);
      return {
        ...(str(p['host_ip']) === undefined ? {} : { hostIp: str(p['host_ip']) }),
        ...(published === undefined ? {} : { published: Number(published) }),
        target: Number(str(p['target'])),
        protocol: str(p['protocol']) ?? 'tcp',
      };
    }
    const m = /^(?:(?<ip>\[[^\]]+\]|[^:[\]]+):)?(?:(?<published>\d+):)?(?<target>\d+)(?:\/(?<protocol>tcp|udp|sctp))?$/.exec(String(p));
    if (m?.groups === undefined) return { target: NaN, protocol: `unparsed ${String(p)}` };
    const g = m.groups;
    return {
      ...(g['ip'] === undefined ? {} : { hostIp: g['ip'] }),
      ...(g['published'] === undefined ? {} : { published: Number(g['published']) }),
      target: Number(g['target']),
      protocol: g['protocol'] ?? 'tcp',
    };
  });
}

interface Mount {
  /** Resolved against the compose file's folder when it is a path. */
  source: string;
  target: string;
}

function mounts(service: Rec): Mount[] {
  return arr(service['volumes']).map((v) => {
    let source: string;
    let target: string;
    if (isRec(v)) {
      source = str(v['source']) ?? '';
      target = str(v['target']) ?? '';
    } else {
      [source = '', target = ''] = String(v).split(':');
    }
    return { source: source.startsWith('.') || source.startsWith('/') ? resolve(DOCKER, source) : source, target };
  });
}

const commandOf = (service: Rec): string[] => {
  const c = service['command'];
  return Array.isArray(c) ? c.map(String) : typeof c === 'string' ? c.split(/\s+/).filter(Boolean) : [];
};

function argAfter(command: readonly string[], flag: string, n = 1): string[] | undefined {
  const i = command.indexOf(flag);
  return i === -1 ? undefined : command.slice(i + 1, i + 1 + n);
}

/** Where a path inside a container comes from on the host, through the service's mounts. */
function hostPathOf(service: Rec, containerPath: string): string | undefined {
  for (const m of mounts(service)) {
    if (containerPath === m.target) return m.source;
    if (containerPath.startsWith(m.target.endsWith('/') ? m.target : `${m.target}/`))
      return join(m.source, posix.relative(m.target, containerPath));
  }
  return undefined;
}

function composeProblems(compose: Rec, config: Config): string[] {
  const problems: string[] = [];
  const services = rec(compose['services']);
  const ports = portsOf(config);

  const tg = rec(services['trunkgate']);
  const build = rec(tg['build']);
  if (
    str(build['dockerfile']) === undefined ||
    !existsSync(resolve(DOCKER, str(build['context']) ?? '.', str(build['dockerfile']) as string))
  ) {
    problems.push(`trunkgate: build ${JSON.stringify(build)} does not name an existing Dockerfile`);
  }
  if (resolve(DOCKER, str(build['context']) ?? '.') !== resolve(ROOT))
    problems.push('trunkgate: the build context must be the repository root (..)');
  const published = publishedPorts(tg);
  const wanted: Array<[number | undefined, string, string]> = [
    [ports.sip.udp, 'udp', 'SIP over UDP'],
    [ports.sip.tcp, 'tcp', 'SIP over TCP'],
    [ports.http, 'tcp', 'HTTP'],
  ];
  for (const [port, protocol, what] of wanted) {
    const p = published.find((x) => x.target === port && x.protocol === protocol);
    if (p === undefined) problems.push(`trunkgate: ${what} (${port}/${protocol}) is not published`);
    else if (p.published !== port)
      problems.push(`trunkgate: ${what} ${port}/${protocol} is published on host port ${p.published}, not ${port}`);
  }

  const prom = rec(services['prometheus']);
  if (!String(prom['image']).startsWith('prom/prometheus')) problems.push('prometheus: expected image prom/prometheus');
  if (hostPathOf(prom, '/etc/prometheus/prometheus.yml') !== join(DOCKER, 'prometheus', 'prometheus.yml')) {
    problems.push('prometheus: docker/prometheus/prometheus.yml is not mounted at /etc/prometheus/prometheus.yml');
  }
  if (!publishedPorts(prom).some((p) => p.target === 9090)) problems.push('prometheus: 9090 is not published');

  const graf = rec(services['grafana']);
  if (!String(graf['image']).startsWith('grafana/grafana')) problems.push('grafana: expected image grafana/grafana');
  if (hostPathOf(graf, '/etc/grafana/provisioning') !== join(DOCKER, 'grafana', 'provisioning')) {
    problems.push('grafana: docker/grafana/provisioning is not mounted at /etc/grafana/provisioning');
  }
  if (!publishedPorts(graf).some((p) => p.target === 3000)) problems.push('grafana: 3000 is not published');
  const env = rec(graf['environment']);
  if (String(env['GF_AUTH_ANONYMOUS_ENABLED']) !== 'true' && env['GF_SECURITY_ADMIN_PASSWORD'] === undefined) {
    problems.push('grafana: neither anonymous access nor a documented admin password');
  }

  const sipp = rec(services['sipp']);
  if (!arr(sipp['profiles']).includes('sipp')) problems.push('sipp: not under profiles: ["sipp"]');
  const sippBuild = rec(sipp['build']);
  if (
    sipp['build'] !== undefined &&
    !existsSync(resolve(DOCKER, str(sippBuild['context']) ?? '.', str(sippBuild['dockerfile']) ?? 'Dockerfile'))
  ) {
    problems.push('sipp: its Dockerfile does not exist');
  }
  if (!mounts(sipp).some((m) => m.source === join(ROOT, 'sip-scenarios'))) problems.push('sipp: ../sip-scenarios is not mounted');
  const cmd = commandOf(sipp);
  const scenario = argAfter(cmd, '-sf')?.[0];
  const scenarioHost = scenario === undefined ? undefined : hostPathOf(sipp, scenario);
  if (scenarioHost === undefined || posix.basename(scenario ?? '') !== 'cps-burst.xml' || !existsSync(scenarioHost)) {
    problems.push(`sipp: -sf ${scenario} is not sip-scenarios/cps-burst.xml through the mount`);
  } else {
    const xml = text(scenarioHost);
    if (xml.includes('[service]') && argAfter(cmd, '-s') === undefined)
      problems.push('sipp: the scenario uses [service] and the command has no -s');
    if (/\[field\d+\]/.test(xml)) {
      const inf = argAfter(cmd, '-inf')?.[0];
      const infHost = inf === undefined ? undefined : hostPathOf(sipp, inf);
      if (infHost === undefined || !existsSync(infHost))
        problems.push(`sipp: the scenario uses [fieldN] and -inf ${inf} is not a file of the mount`);
    }
    if (xml.includes('[trunk]')) {
      const key = argAfter(cmd, '-key', 2);
      const hosts = config.trunks.map((t) => `${t.name}.${config.sip.domainSuffix}`);
      if (key?.[0] !== 'trunk' || !hosts.includes(key[1] ?? '')) problems.push(`sipp: -key trunk should be one of ${hosts.join(', ')}`);
    }
  }
  if (!cmd.includes(`trunkgate:${ports.sip.udp}`)) problems.push(`sipp: the command does not target trunkgate:${ports.sip.udp}`);
  if (!Object.keys(rec(sipp['depends_on'])).includes('trunkgate') && !arr(sipp['depends_on']).includes('trunkgate')) {
    problems.push('sipp: does not depend on trunkgate');
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// the shared-limits profile: Redis, two gateways with docker/trunkgate.shared.yaml, one SIP address

const SHARED_PROFILE = 'shared-limits';

/** The `server host:port;` lines of each nginx stream upstream. */
function nginxUpstreams(conf: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of conf.matchAll(/upstream\s+(\S+)\s*\{([^}]*)\}/g)) {
    out.set(m[1] as string, [...(m[2] as string).matchAll(/server\s+([^\s;]+)\s*;/g)].map((x) => x[1] as string));
  }
  return out;
}

function sharedProfileProblems(compose: Rec, nginxConf: string, prom: Rec): string[] {
  const problems: string[] = [];
  const services = rec(compose['services']);
  const inProfile = Object.entries(services).filter(([, v]) => arr(rec(v)['profiles']).includes(SHARED_PROFILE));
  const names = inProfile.map(([k]) => k);
  const redis = inProfile.find(([, v]) => String(rec(v)['image']).startsWith('redis:') || String(rec(v)['image']).startsWith('valkey/'));
  if (redis === undefined) return [`no Redis service under profiles: ["${SHARED_PROFILE}"]`];
  const gateways = inProfile.filter(([, v]) => commandOf(rec(v)).includes('--config') && String(rec(v)['image']).startsWith('trunkgate'));
  if (gateways.length < 2) problems.push(`expected two gateways in the ${SHARED_PROFILE} profile, found ${gateways.length}`);
  const hostnames = new Set<string>();
  let sipPort: number | undefined;
  for (const [name, v] of gateways) {
    const service = rec(v);
    const configPath = argAfter(commandOf(service), '--config')?.[0] ?? '';
    const host = hostPathOf(service, configPath);
    if (host === undefined || !existsSync(host)) {
      problems.push(`${name}: --config ${configPath} is not a mounted file`);
      continue;
    }
    const r = loadConfigFile(host);
    if (!r.ok) {
      problems.push(`${name}: ${configPath} is not a valid config`);
      continue;
    }
    const store = r.config.limits.store;
    if (store === 'memory') problems.push(`${name}: limits.store is memory: the gateways would not share limits`);
    else if (new URL(store).hostname !== redis[0]) problems.push(`${name}: limits.store ${store} does not name the Redis service ${redis[0]}`);
    const instance = str(service['hostname']) ?? name;
    if (hostnames.has(instance)) problems.push(`${name}: hostname ${instance} is not unique (it is the instance name)`);
    hostnames.add(instance);
    if (!Object.keys(rec(service['depends_on'])).includes(redis[0]) && !arr(service['depends_on']).includes(redis[0])) problems.push(`${name}: does not depend on ${redis[0]}`);
    sipPort = portsOf(r.config).sip.udp;
  }
  const upstreams = nginxUpstreams(nginxConf);
  if (upstreams.size === 0) problems.push('the balancer config has no upstream');
  for (const [upstream, servers] of upstreams) {
    for (const [name] of gateways) if (!servers.includes(`${name}:${sipPort}`)) problems.push(`balancer upstream ${upstream} lacks ${name}:${sipPort}`);
    for (const server of servers) if (!names.includes(server.split(':')[0] ?? '')) problems.push(`balancer upstream ${upstream}: ${server} is not a service of the profile`);
  }
  const balancer = inProfile.find(([, v]) => mounts(rec(v)).some((m) => m.source === join(DOCKER, 'nginx', 'shared-limits.conf')));
  if (balancer === undefined) problems.push('no balancer service mounts docker/nginx/shared-limits.conf');
  else {
    const published = publishedPorts(rec(balancer[1]));
    for (const protocol of ['udp', 'tcp']) if (!published.some((p) => p.target === sipPort && p.protocol === protocol)) problems.push(`balancer: ${sipPort}/${protocol} is not published`);
    const client = inProfile.find(([, v]) => commandOf(rec(v)).includes('-sf'));
    if (client !== undefined && !commandOf(rec(client[1])).includes(`${balancer[0]}:${sipPort}`)) problems.push(`${client[0]}: does not target ${balancer[0]}:${sipPort}`);
  }
  const targets = arr(prom['scrape_configs']).flatMap((j) => arr(rec(j)['static_configs']).flatMap((c) => arr(rec(c)['targets']).map(String)));
  for (const [name] of gateways) if (!targets.some((t) => t.startsWith(`${name}:`))) problems.push(`prometheus does not scrape ${name}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// prometheus.yml and the Grafana provisioning

function prometheusProblems(prom: Rec, compose: Rec, httpPort: number): string[] {
  const problems: string[] = [];
  const services = Object.keys(rec(compose['services']));
  const jobs = arr(prom['scrape_configs']).map(rec);
  const job = jobs.find((j) =>
    arr(j['static_configs']).some((s) => arr(rec(s)['targets']).some((t) => String(t).startsWith('trunkgate:'))),
  );
  if (job === undefined) return ['no scrape job targets the trunkgate service'];
  const targets = arr(job['static_configs']).flatMap((s) => arr(rec(s)['targets']).map(String));
  for (const t of targets) {
    const [host = '', port] = t.split(':');
    if (!services.includes(host)) problems.push(`target ${t}: ${host} is not a compose service`);
    if (host === 'trunkgate' && Number(port) !== httpPort) problems.push(`target ${t}: trunkgate's HTTP port is ${httpPort}`);
  }
  if ((str(job['metrics_path']) ?? '/metrics') !== '/metrics')
    problems.push(`metrics_path ${str(job['metrics_path'])}: trunkgate serves /metrics`);
  if ((str(job['scheme']) ?? 'http') !== 'http') problems.push('trunkgate serves plain http');
  const interval = str(job['scrape_interval']) ?? str(rec(prom['global'])['scrape_interval']);
  if (interval !== '5s') problems.push(`scrape_interval ${interval}: expected 5s`);
  return problems;
}

interface Provisioned {
  uid: string;
  url: string;
  dashboardsPath: string;
}

function provisioned(): Provisioned {
  const ds = rec(parseYaml(text(join(DOCKER, 'grafana/provisioning/datasources/prometheus.yaml'))));
  const prometheus = arr(ds['datasources'])
    .map(rec)
    .filter((d) => d['type'] === 'prometheus');
  const dash = rec(parseYaml(text(join(DOCKER, 'grafana/provisioning/dashboards/dashboards.yaml'))));
  const provider = arr(dash['providers'])
    .map(rec)
    .find((p) => p['type'] === 'file');
  expect(prometheus, 'exactly one provisioned Prometheus datasource').toHaveLength(1);
  return {
    uid: str(prometheus[0]?.['uid']) ?? '',
    url: str(prometheus[0]?.['url']) ?? '',
    dashboardsPath: str(rec(provider?.['options'])['path']) ?? '',
  };
}

// ---------------------------------------------------------------------------------------------
// the Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  /** The image, with the build arguments declared before the first FROM substituted. */
  from: string;
  /** The image as written. */
  rawFrom: string;
  name?: string;
  instructions: Instruction[];
}

function parseDockerfile(source: string): { args: Map<string, string>; stages: Stage[] } {
  const lines = source
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const keyword = (m[1] as string).toUpperCase();
    const rest = m[2] as string;
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest);
      const rawFrom = f?.[1] ?? rest;
      const image = rawFrom.replace(/\$\{?(\w+)\}?/g, (_, name: string) => args.get(name) ?? `$${name}`);
      stages.push({ from: image, rawFrom, ...(f?.[2] === undefined ? {} : { name: f[2] }), instructions: [] });
    } else if (stages.length === 0 && keyword === 'ARG') {
      const [name = '', value = ''] = rest.split('=');
      args.set(name.trim(), value.trim());
    } else {
      stages.at(-1)?.instructions.push({ keyword, args: rest });
    }
  }
  return { args, stages };
}

function jsonArray(args: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(args);
    return Array.isArray(v) ? v.map(String) : undefined;
  } catch {
    return undefined;
  }
}

/** COPY in a stage: its --from, sources, and destination made absolute against WORKDIR. */
function copies(stage: Stage): Array<{ from?: string; sources: string[]; dest: string }> {
  let workdir = '/';
  const out: Array<{ from?: string; sources: string[]; dest: string }> = [];
  for (const ins of stage.instructions) {
    if (ins.keyword === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    const words = ins.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith('--'));
    const paths = words.filter((w) => !w.startsWith('--'));
    const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
    const dest = paths.at(-1) ?? '';
    out.push({ ...(from === undefined ? {} : { from }), sources: paths.slice(0, -1), dest: posix.resolve(workdir, dest) });
  }
  return out;
}

function workdirOf(stage: Stage): string {
  return stage.instructions.filter((i) => i.keyword === 'WORKDIR').reduce((w, i) => posix.resolve(w, i.args), '/');
}

function dockerfileProblems(source: string, ports: Ports): string[] {
  const problems: string[] = [];
  const { stages } = parseDockerfile(source);
  if (stages.length < 2) return [`expected a multi-stage build (at least 2 FROM), found ${stages.length}`];
  if (/^#\s*syntax\s*=/im.test(source)) problems.push('a `# syntax=` line: BuildKit fetches that frontend image from a registry');
  for (const s of stages) {
    if (!/^node:20[-.]/.test(s.from) && s.from !== 'node:20') problems.push(`FROM ${s.from}: expected a node:20 image`);
    // without a registry the base is made locally and passed in (scripts/container-smoke.mjs)
    if (!/^\$\{?\w+\}?$/.test(s.rawFrom))
      problems.push(`FROM ${s.rawFrom}: expected the base image as a build argument (FROM \${NODE_IMAGE})`);
  }
  const runtime = stages.at(-1) as Stage;
  const earlier = stages
    .slice(0, -1)
    .flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args))
    .join('\n');
  if (!/npm ci\b/.test(earlier)) problems.push('the build stages do not run npm ci');
  if (!/npm run build\b/.test(earlier)) problems.push('the build stages do not run npm run build');
  if (!/npm (prune|ci)\b[^\n&;]*--omit=dev/.test(earlier))
    problems.push('no stage drops the dev dependencies (npm prune --omit=dev or npm ci --omit=dev)');

  const of = (k: string): Instruction[] => runtime.instructions.filter((i) => i.keyword === k);
  const user = of('USER').at(-1)?.args.split(':')[0];
  if (user === undefined || user === 'root' || user === '0')
    problems.push(`the runtime stage runs as ${user ?? 'root (no USER)'}; expected a non-root user`);

  const exposed = new Set(of('EXPOSE').flatMap((i) => i.args.split(/\s+/).map((p) => (p.includes('/') ? p : `${p}/tcp`))));
  for (const p of [`${ports.sip.udp}/udp`, `${ports.sip.tcp}/tcp`, `${ports.http}/tcp`])
    if (!exposed.has(p)) problems.push(`EXPOSE lacks ${p}`);

  const entrypoint = jsonArray(of('ENTRYPOINT').at(-1)?.args ?? '');
  if (JSON.stringify(entrypoint) !== JSON.stringify(['node', 'dist/cli.js']))
    problems.push(`ENTRYPOINT ${JSON.stringify(entrypoint)}: expected ["node", "dist/cli.js"]`);
  const cmd = jsonArray(of('CMD').at(-1)?.args ?? '') ?? [];
  const configPath = cmd[0] === '--config' ? cmd[1] : undefined;
  const copied = copies(runtime);
  /** The repository file the runtime stage copies to `path`, if it copies one there. */
  const sourceOf = (path: string | undefined): string | undefined =>
    copied.find((c) => c.from === undefined && c.dest === path && c.sources.length === 1)?.sources[0];

  // The health check takes the port from the config the gateway runs with: a script of the
  // image that reads it; asked with the image's own command line, it must request the port of
  // the docker config (the script itself: test/integration/docker-healthcheck.test.ts).
  const health = of('HEALTHCHECK').at(-1)?.args ?? '';
  if (/\bcurl\b|\bwget\b/.test(health)) problems.push('HEALTHCHECK uses curl/wget, which slim images lack');
  const healthCmd = jsonArray(/\bCMD\s+(\[.*\])\s*$/.exec(health)?.[1] ?? '') ?? [];
  const healthScript = healthCmd.length === 2 && healthCmd[0] === 'node' ? sourceOf(healthCmd[1]) : undefined;
  if (healthScript === undefined) {
    problems.push(
      `HEALTHCHECK ${health || '(none)'}: expected CMD ["node", "<a script the runtime stage copies>"], which takes the port from the config`,
    );
  } else {
    const want = `http://127.0.0.1:${ports.http}/healthz`;
    // the image's paths, as the repository files the runtime stage copies there
    const onHost = (a: string): string => {
      const c = copied.find((x) => x.from === undefined && x.sources.length === 1 && (a === x.dest || a.startsWith(`${x.dest}/`)));
      return c === undefined ? a : at(c.sources[0] as string, a.slice(c.dest.length));
    };
    const args = cmd.map(onHost);
    const r = spawnSync(process.execPath, [at(healthScript), '--print', '--', ...args], { encoding: 'utf8' });
    if (r.status !== 0 || r.stdout.trim() !== want)
      problems.push(
        `HEALTHCHECK ${healthScript} asks ${r.stdout.trim() || r.stderr.trim() || `(exit ${r.status})`} for CMD ${JSON.stringify(cmd)}; expected ${want}`,
      );
  }
  if (configPath === undefined) problems.push(`CMD ${JSON.stringify(cmd)}: expected ["--config", "<the docker config>"]`);
  else if (!copied.some((c) => c.from === undefined && c.sources.includes('docker/trunkgate.docker.yaml') && c.dest === configPath)) {
    problems.push(`CMD --config ${configPath}: docker/trunkgate.docker.yaml is not copied there`);
  }
  const workdir = workdirOf(runtime);
  const buildNames = stages.slice(0, -1).map((s, i) => s.name ?? String(i));
  for (const wanted of ['dist', 'node_modules', 'examples', 'sip-scenarios', 'package.json']) {
    if (!copied.some((c) => c.dest === posix.join(workdir, wanted)))
      problems.push(`the runtime stage does not copy ${wanted} to ${posix.join(workdir, wanted)}`);
  }
  for (const wanted of ['dist', 'node_modules']) {
    const c = copied.find((x) => x.dest === posix.join(workdir, wanted));
    if (c !== undefined && (c.from === undefined || !buildNames.includes(c.from)))
      problems.push(`${wanted} should come from a build stage (COPY --from=…)`);
  }
  for (const c of stages.flatMap(copies)) {
    if (c.from !== undefined) continue;
    for (const s of c.sources) if (!existsSync(at(s))) problems.push(`COPY ${s}: no such file or folder in the repository`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// PromQL, as far as the dashboard needs: which metrics and labels an expression names

interface Selector {
  metric: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'and',
  'or',
  'unless',
  'atan2',
  'inf',
  'nan',
  'start',
  'end',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const STRING = /^("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/;

function scanPromql(expr: string): { selectors: Selector[]; grouping: string[]; variables: string[] } {
  const selectors: Selector[] = [];
  const grouping: string[] = [];
  const variables = [...expr.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1] as string);
  let i = 0;
  let last: Selector | undefined;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const ch = expr[i] as string;
    const s = STRING.exec(rest);
    if (s !== null) {
      i += (s[1] as string).length;
      last = undefined;
    } else if (ch === '[') {
      i = expr.indexOf(']', i) + 1 || expr.length;
      last = undefined;
    } else if (ch === '{') {
      const end = expr.indexOf('}', i);
      const body = expr.slice(i + 1, end === -1 ? expr.length : end);
      const sel = last ?? { metric: '', matchers: [] };
      if (last === undefined) selectors.push(sel);
      for (const m of body.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g)) {
        sel.matchers.push({ label: m[1] as string, op: m[2] as string, value: (m[3] as string).slice(1, -1) });
      }
      i = end === -1 ? expr.length : end + 1;
      last = undefined;
    } else if (/[a-zA-Z_:]/.test(ch)) {
      const word = (/^[a-zA-Z_:][\w:]*/.exec(rest) as RegExpExecArray)[0];
      i += word.length;
      const next = expr.slice(i).trimStart();
      last = undefined;
      if (GROUPING.has(word) && next.startsWith('(')) {
        const close = expr.indexOf(')', i);
        grouping.push(
          ...expr
            .slice(expr.indexOf('(', i) + 1, close)
            .split(',')
            .map((l) => l.trim())
            .filter(Boolean),
        );
        i = close + 1;
      } else if (!next.startsWith('(') && !AGGREGATIONS.has(word) && !KEYWORDS.has(word)) {
        last = { metric: word, matchers: [] };
        selectors.push(last);
      }
    } else if (ch === '$') {
      i += /^\$\{?\w+\}?/.exec(rest)?.[0].length ?? 1;
    } else if (/[0-9.]/.test(ch)) {
      i += (/^[0-9.][\w.]*/.exec(rest) as RegExpExecArray)[0].length;
    } else {
      i++;
      if (!/\s/.test(ch)) last = undefined;
    }
  }
  return { selectors, grouping, variables };
}

const TABLE = new Map<string, MetricDefinition>(METRIC_LIST.map((m) => [m.name, m]));
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = ['job', 'instance'];
/** Label values that come from closed sets in the code. */
const CLOSED_VALUES: Record<string, readonly string[]> = { outcome: ATTEMPT_OUTCOMES, disposition: DISPOSITIONS };
const GRAFANA_VARIABLES = ['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s', '__range_ms'];

/** A name from the metric table, or a histogram series (_bucket, _sum, _count) of one. */
function resolveMetric(name: string): { def: MetricDefinition; labels: string[] } | undefined {
  const def = TABLE.get(name);
  if (def !== undefined) return { def, labels: [...def.labels] };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  const base = m === null ? undefined : TABLE.get(m[1] as string);
  if (base?.type !== 'histogram') return undefined;
  return { def: base, labels: m?.[2] === 'bucket' ? [...base.labels, 'le'] : [...base.labels] };
}

function exprProblems(where: string, expr: string, variables: readonly string[]): string[] {
  const problems: string[] = [];
  const { selectors, grouping, variables: used } = scanPromql(expr);
  if (selectors.length === 0) problems.push(`${where}: names no metric: ${expr}`);
  const allowed = new Set(TARGET_LABELS);
  for (const sel of selectors) {
    const r = sel.metric === '' ? undefined : resolveMetric(sel.metric);
    if (r === undefined) {
      problems.push(
        `${where}: ${sel.metric === '' ? 'a selector without a metric name' : `"${sel.metric}" is not in the metric table`} (${expr})`,
      );
      continue;
    }
    r.labels.forEach((l) => allowed.add(l));
    for (const m of sel.matchers) {
      if (!r.labels.includes(m.label) && !TARGET_LABELS.includes(m.label))
        problems.push(`${where}: ${sel.metric} has no label "${m.label}"`);
      const closed = CLOSED_VALUES[m.label];
      if (closed !== undefined && (m.op === '=' || m.op === '!=') && !closed.includes(m.value)) {
        problems.push(`${where}: ${m.label}="${m.value}" is not one of ${closed.join(', ')}`);
      }
    }
  }
  for (const label of grouping) if (!allowed.has(label)) problems.push(`${where}: groups by "${label}", a label none of its metrics has`);
  for (const v of used)
    if (!variables.includes(v) && !GRAFANA_VARIABLES.includes(v)) problems.push(`${where}: $${v} is not a dashboard variable`);
  return problems;
}

interface Query {
  where: string;
  expr: string;
}

function panelsOf(dashboard: Rec): Rec[] {
  return arr(dashboard['panels'])
    .map(rec)
    .flatMap((p) => [p, ...arr(p['panels']).map(rec)]);
}

function queriesOf(dashboard: Rec): { panels: Query[]; variables: Array<Query & { name: string }> } {
  const panels = panelsOf(dashboard).flatMap((p) =>
    arr(p['targets']).map((t) => ({ where: `panel "${str(p['title'])}" ${str(rec(t)['refId'])}`, expr: str(rec(t)['expr']) ?? '' })),
  );
  const variables = arr(rec(dashboard['templating'])['list'])
    .map(rec)
    .filter((v) => v['type'] === 'query')
    .map((v) => ({
      name: str(v['name']) ?? '',
      where: `variable $${str(v['name'])}`,
      expr: str(v['query']) ?? str(rec(v['query'])['query']) ?? '',
    }));
  return { panels, variables };
}

/** The four panels the dashboard exists for, and the metrics each must show. */
const REQUIRED_PANELS: Record<string, string[]> = {
  'Call attempts by outcome': ['trunkgate_call_attempts_total'],
  'Active calls against the limit': ['trunkgate_active_calls', 'trunkgate_concurrency_limit'],
  'CPS against the limit': ['trunkgate_call_attempts_total', 'trunkgate_cps_limit'],
  'Alerts by code': ['trunkgate_alerts_total'],
};

function dashboardProblems(dashboard: Rec, datasourceUid: string): string[] {
  const problems: string[] = [];
  if (typeof dashboard['schemaVersion'] !== 'number' || dashboard['schemaVersion'] < 36)
    problems.push('schemaVersion: expected 36 or later (datasources by uid)');
  const { panels, variables } = queriesOf(dashboard);
  const names = variables.map((v) => v.name);
  for (const q of panels) problems.push(...exprProblems(q.where, q.expr, names));
  for (const v of variables) {
    const m = /^label_values\((.+),\s*([a-zA-Z_]\w*)\s*\)$/.exec(v.expr.trim());
    if (m === null) {
      problems.push(`${v.where}: expected label_values(<selector>, <label>), found ${v.expr}`);
      continue;
    }
    problems.push(...exprProblems(v.where, m[1] as string, names));
    const metric = scanPromql(m[1] as string).selectors[0]?.metric ?? '';
    if (!(resolveMetric(metric)?.labels ?? []).includes(m[2] as string)) problems.push(`${v.where}: ${metric} has no label "${m[2]}"`);
  }
  for (const [title, metrics] of Object.entries(REQUIRED_PANELS)) {
    const panel = panelsOf(dashboard).find((p) => p['title'] === title);
    if (panel === undefined) {
      problems.push(`no panel titled "${title}"`);
      continue;
    }
    const shown = arr(panel['targets']).flatMap((t) => scanPromql(str(rec(t)['expr']) ?? '').selectors.map((s) => s.metric));
    for (const metric of metrics) if (!shown.includes(metric)) problems.push(`panel "${title}" does not query ${metric}`);
  }
  const ids = panelsOf(dashboard).map((p) => p['id']);
  if (new Set(ids).size !== ids.length) problems.push('panel ids are not unique');
  // Every datasource reference, wherever it is, is the provisioned Prometheus by uid (Grafana's own annotations aside).
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    if (!isRec(v)) return;
    for (const [k, x] of Object.entries(v)) {
      if (k === 'datasource') {
        const ds = rec(x);
        if (ds['type'] === 'grafana') continue;
        if (ds['uid'] !== datasourceUid) problems.push(`${path}.datasource ${JSON.stringify(x)}: expected uid ${datasourceUid}`);
      } else walk(x, `${path}.${k}`);
    }
  };
  walk(dashboard, '$');
  for (const p of panelsOf(dashboard)) {
    if (p['type'] !== 'row' && arr(p['targets']).length === 0) problems.push(`panel "${str(p['title'])}" has no query`);
  }
  return problems;
}

/** promtool (Prometheus's own parser) on prometheus.yml and on every dashboard query, as recording rules. */
function promtool(args: string[]): { ok: boolean; output: string } {
  const r = spawnSync('promtool', args, { encoding: 'utf8' });
  if (r.error !== undefined) {
    throw new Error(
      `promtool could not be run (${r.error.message}): it comes with Prometheus, which npm test installs (Debian: apt-get install prometheus)`,
    );
  }
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

// ---------------------------------------------------------------------------------------------

const DOCKER_CONFIG = join(DOCKER, 'trunkgate.docker.yaml');
const DEFAULT_CONFIG = at('examples', 'trunkgate.yaml');
const loadCompose = (): Rec => rec(parseYaml(text(join(DOCKER, 'compose.yaml'))));
const loadPrometheus = (): Rec => rec(parseYaml(text(join(DOCKER, 'prometheus', 'prometheus.yml'))));
const loadDashboard = (): Rec => rec(JSON.parse(text(join(DOCKER, 'grafana', 'dashboards', 'trunkgate.json'))));
const loadDockerfile = (): string => text(join(DOCKER, 'Dockerfile'));

describe('docker/trunkgate.docker.yaml', () => {
  it('is a valid configuration that listens on every address, on the ports of the default configuration', () => {
    const docker = loadValid(DOCKER_CONFIG);
    expect(containerListenProblems(docker)).toEqual([]);
    const ports = portsOf(docker);
    expect(ports).toEqual(portsOf(loadValid(DEFAULT_CONFIG)));
    expect(ports).toEqual({ sip: { udp: 5060, tcp: 5060 }, http: 8080 });
  });

  it('means the default configuration, but for its listen addresses and IP ACL', () => {
    expect(
      withoutContainerSettings(loadValid(DOCKER_CONFIG)),
      'update docker/trunkgate.docker.yaml along with examples/trunkgate.yaml',
    ).toEqual(withoutContainerSettings(loadValid(DEFAULT_CONFIG)));
  });

  it("admits the compose network, the host through Docker's port publishing, and loopback", () => {
    for (const trunk of loadValid(DOCKER_CONFIG).trunks) {
      const admits = cidrMatcher(trunk.auth.ipAcl);
      for (const address of ['172.18.0.5', '172.17.0.1', '10.0.3.7', '192.168.65.1', '127.0.0.1'])
        expect(admits(address), `${trunk.name} admits ${address}`).toBe(true);
    }
  });
});

describe('docker/compose.yaml', () => {
  it('publishes the SIP and HTTP ports of the docker config and wires prometheus, grafana and the sipp profile', () => {
    expect(composeProblems(loadCompose(), loadValid(DOCKER_CONFIG))).toEqual([]);
  });

  it('publishes 5060/udp, 5060/tcp and 8080 for trunkgate', () => {
    const ports = publishedPorts(rec(rec(loadCompose()['services'])['trunkgate'])).map((p) => `${p.target}/${p.protocol}`);
    expect(ports).toEqual(expect.arrayContaining(['5060/udp', '5060/tcp', '8080/tcp']));
  });
});

describe('the shared-limits profile (docs/running-several-instances.md)', () => {
  const SHARED_CONFIG = join(DOCKER, 'trunkgate.shared.yaml');
  const nginx = (): string => text(join(DOCKER, 'nginx', 'shared-limits.conf'));

  it('runs Redis and two gateways with distinct instance names sharing it, behind one balanced SIP address, each scraped', () => {
    expect(sharedProfileProblems(loadCompose(), nginx(), loadPrometheus())).toEqual([]);
  });

  it('docker/trunkgate.shared.yaml is the docker config plus limits in Redis', () => {
    const shared = loadValid(SHARED_CONFIG);
    const docker = loadValid(DOCKER_CONFIG);
    expect(shared.limits.store).not.toBe('memory');
    expect({ ...shared, limits: docker.limits }, 'update docker/trunkgate.shared.yaml along with trunkgate.docker.yaml').toEqual(docker);
  });

  it('a profile that drops a gateway from the balancer, points a gateway at no Redis, or reuses a hostname fails', () => {
    const compose = loadCompose();
    expect(sharedProfileProblems(compose, nginx().replace(/server gw-b:5060;/g, ''), loadPrometheus()).join('\n')).toContain('lacks gw-b:5060');
    const sameHost = clone(compose);
    rec(rec(sameHost['services'])['gw-b'])['hostname'] = 'gw-a';
    expect(sharedProfileProblems(sameHost, nginx(), loadPrometheus()).join('\n')).toContain('is not unique');
    const noRedis = clone(compose);
    delete rec(noRedis['services'])['redis'];
    expect(sharedProfileProblems(noRedis, nginx(), loadPrometheus())).toEqual([`no Redis service under profiles: ["${SHARED_PROFILE}"]`]);
    const memory = clone(compose);
    rec(rec(memory['services'])['gw-a'])['volumes'] = [`${DOCKER_CONFIG}:/app/docker/trunkgate.shared.yaml:ro`];
    expect(sharedProfileProblems(memory, nginx(), loadPrometheus()).join('\n')).toContain('limits.store is memory');
  });
});

describe('docker/prometheus/prometheus.yml', () => {
  it('scrapes trunkgate:<the HTTP port>/metrics every 5 s', () => {
    expect(prometheusProblems(loadPrometheus(), loadCompose(), portsOf(loadValid(DOCKER_CONFIG)).http)).toEqual([]);
  });

  it('scrapes by a name the gateway accepts in Host (http.allowedHosts: the DNS-rebinding check)', () => {
    const targets = arr(loadPrometheus()['scrape_configs']).flatMap((j) => arr(rec(j)['static_configs']).flatMap((sc) => arr(rec(sc)['targets']).map(String)));
    const allowed = loadValid(DOCKER_CONFIG).http.allowedHosts;
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets.filter((x) => x.startsWith('trunkgate:'))) expect(allowed, t).toContain(t.split(':')[0]);
  });

  it('is accepted by promtool', () => {
    const r = promtool(['check', 'config', join(DOCKER, 'prometheus', 'prometheus.yml')]);
    expect(r.ok, r.output).toBe(true);
  });
});

describe('docker/Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, exposes and health-checks the ports of the docker config, and starts with it', () => {
    expect(dockerfileProblems(loadDockerfile(), portsOf(loadValid(DOCKER_CONFIG)))).toEqual([]);
  });

  it('keeps node_modules and dist out of the build context, and nothing that it copies', () => {
    const ignore = text(join(DOCKER, 'Dockerfile.dockerignore'))
      .split('\n')
      .map((l) => l.trim());
    expect(ignore.some((l) => /^(\*\*\/)?node_modules\/?$/.test(l))).toBe(true);
    expect(ignore.some((l) => /^(\*\*\/)?dist\/?$/.test(l))).toBe(true);
    const copied = parseDockerfile(loadDockerfile())
      .stages.flatMap(copies)
      .filter((c) => c.from === undefined)
      .flatMap((c) => c.sources);
    expect(copied.length).toBeGreaterThan(0);
    for (const source of copied) {
      const top = source.split('/')[0] as string;
      expect(ignore, `the Dockerfile copies ${source}`).not.toContain(top);
      expect(ignore, `the Dockerfile copies ${source}`).not.toContain(source);
    }
  });
});

describe('docker/grafana', () => {
  it('provisions Prometheus at the compose service, and the dashboards from where compose mounts them', () => {
    const p = provisioned();
    const services = rec(loadCompose()['services']);
    const url = new URL(p.url);
    expect(Object.keys(services)).toContain(url.hostname);
    expect(publishedPorts(rec(services[url.hostname])).map((x) => x.target)).toContain(Number(url.port));
    expect(hostPathOf(rec(services['grafana']), p.dashboardsPath)).toBe(join(DOCKER, 'grafana', 'dashboards'));
    expect(existsSync(join(DOCKER, 'grafana', 'dashboards', 'trunkgate.json'))).toBe(true);
  });

  it('the dashboard queries only metrics and labels of the metric table, through the provisioned datasource, and has the four panels', () => {
    expect(dashboardProblems(loadDashboard(), provisioned().uid)).toEqual([]);
  });

  it('every dashboard query parses as PromQL (promtool)', () => {
    const { panels, variables } = queriesOf(loadDashboard());
    const exprs = [...panels.map((q) => q.expr), ...variables.map((v) => /^label_values\((.+),\s*\w+\s*\)$/.exec(v.expr)?.[1] ?? v.expr)];
    const substituted = exprs.map((e) => e.replaceAll('$__rate_interval', '20s').replace(/\$\{?\w+\}?/g, '.*'));
    const rules = [
      'groups:',
      '  - name: dashboard',
      '    rules:',
      ...substituted.map((e, i) => `      - record: dashboard:query_${i}\n        expr: ${JSON.stringify(e)}`),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-dashboard-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), rules.join('\n') + '\n');
      const r = promtool(['check', 'rules', join(dir, 'rules.yml')]);
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toContain(`${exprs.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the checks find what they are for', () => {
  const config = (): Config => loadValid(DOCKER_CONFIG);

  it('a dashboard with a typo in a metric, a label, an outcome, a variable or the datasource fails', () => {
    const uid = provisioned().uid;
    const mutate = (from: string, to: string): string[] => {
      const json = JSON.stringify(loadDashboard());
      expect(json).toContain(from);
      return dashboardProblems(rec(JSON.parse(json.replaceAll(from, to))), uid);
    };
    expect(mutate('trunkgate_active_calls', 'trunkgate_active_call').join('\n')).toContain(
      '"trunkgate_active_call" is not in the metric table',
    );
    expect(mutate('trunkgate_alerts_total', 'process_cpu_seconds_total').join('\n')).toContain('not in the metric table');
    expect(mutate('trunkgate_admission_seconds_bucket', 'trunkgate_admission_second_bucket').join('\n')).toContain(
      'not in the metric table',
    );
    expect(mutate('sum by (outcome)', 'sum by (outcom)').join('\n')).toContain('"outcom"');
    expect(mutate('outcome=\\"admitted\\"', 'outcome=\\"admited\\"').join('\n')).toContain('outcome="admited"');
    expect(mutate('trunk=~\\"$trunk\\"', 'trunks=~\\"$trunk\\"').join('\n')).toContain('no label "trunks"');
    expect(mutate('trunk=~\\"$trunk\\"', 'trunk=~\\"$trunks\\"').join('\n')).toContain('$trunks is not a dashboard variable');
    expect(mutate('"Alerts by code"', '"Alerts"')).toEqual(['no panel titled "Alerts by code"']);
    expect(mutate(`"uid":"${uid}"`, '"uid":"prometheus"').join('\n')).toContain(`expected uid ${uid}`);
    expect(mutate('label_values(trunkgate_cps_limit, trunk)', 'label_values(trunkgate_cps_limit, trunc)').join('\n')).toContain(
      'no label "trunc"',
    );
  });

  it('the PromQL scanner finds every metric, matcher and grouping label', () => {
    const a = scanPromql(
      'max by (trunk, region) (trunkgate_cps_limit{trunk=~"$trunk"}) and on (trunk, region) trunkgate_call_attempts_total offset 5m',
    );
    expect(a.selectors).toEqual([
      { metric: 'trunkgate_cps_limit', matchers: [{ label: 'trunk', op: '=~', value: '$trunk' }] },
      { metric: 'trunkgate_call_attempts_total', matchers: [] },
    ]);
    expect(a.grouping).toEqual(['trunk', 'region', 'trunk', 'region']);
    expect(a.variables).toEqual(['trunk']);
    const b = scanPromql('histogram_quantile(0.99, sum without (instance) (rate(x_bucket{a!="b,c"}[5m:1m]))) > bool 0.1');
    expect(b.selectors).toEqual([{ metric: 'x_bucket', matchers: [{ label: 'a', op: '!=', value: 'b,c' }] }]);
    expect(b.grouping).toEqual(['instance']);
    expect(exprProblems('q', '{__name__="trunkgate_active_calls"}', [])).toEqual([
      expect.stringContaining('a selector without a metric name'),
    ]);
    expect(exprProblems('q', 'vector(1)', [])).toEqual([expect.stringContaining('names no metric')]);
    expect(exprProblems('q', 'sum by (le) (rate(trunkgate_admission_seconds_bucket[1m]))', [])).toEqual([]);
    expect(exprProblems('q', 'sum by (le) (rate(trunkgate_admission_seconds_count[1m]))', [])).toEqual([expect.stringContaining('"le"')]);
  });

  it('a Dockerfile that is single-stage, runs as root, lacks a port, checks another path or starts another config fails', () => {
    const ports = portsOf(config());
    const good = loadDockerfile();
    const broken = (from: RegExp | string, to: string): string[] => {
      const changed = good.replace(from, to);
      expect(changed).not.toBe(good);
      return dockerfileProblems(changed, ports);
    };
    expect(dockerfileProblems('FROM node:20-bookworm-slim\nUSER node\n', ports)).toEqual([expect.stringContaining('multi-stage')]);
    expect(broken(/^USER node$/m, 'USER root').join('\n')).toContain('non-root');
    expect(broken(/^USER node$/m, '').join('\n')).toContain('non-root');
    expect(broken('5060/udp 5060/tcp', '5060/tcp')).toEqual(['EXPOSE lacks 5060/udp']);
    expect(broken('"/app/docker/healthcheck.mjs"]', '"/app/docker/health.mjs"]').join('\n')).toContain('HEALTHCHECK');
    expect(broken('COPY docker/healthcheck.mjs ./docker/healthcheck.mjs', '').join('\n')).toContain('HEALTHCHECK');
    // a port written into the Dockerfile is not taken from the config
    expect(
      broken('CMD ["node", "/app/docker/healthcheck.mjs"]', `CMD ["node", "-e", "fetch('http://127.0.0.1:${ports.http}/healthz')"]`).join(
        '\n',
      ),
    ).toContain('HEALTHCHECK');
    expect(dockerfileProblems(`# syntax=docker/dockerfile:1\n${good}`, ports).join('\n')).toContain('# syntax=');
    expect(broken('FROM ${NODE_IMAGE} AS runtime', 'FROM node:20-bookworm-slim AS runtime')).toEqual([
      expect.stringContaining('expected the base image as a build argument'),
    ]);
    expect(broken('"/app/docker/trunkgate.docker.yaml"]', '"/app/examples/trunkgate.yaml"]').join('\n')).toContain('is not copied there');
    expect(broken('npm prune --omit=dev', 'npm prune').join('\n')).toContain('dev dependencies');
    expect(broken('COPY sip-scenarios ./sip-scenarios', 'COPY sip-scenario ./sip-scenarios').join('\n')).toContain(
      'COPY sip-scenario: no such file',
    );
  });

  it('a compose file that drops or moves a port, or mis-wires sipp, fails', () => {
    const good = loadCompose();
    const cfg = config();
    const edit = (f: (services: Rec) => void): string[] => {
      const c = clone(good);
      f(rec(c['services']));
      return composeProblems(c, cfg);
    };
    const ports = (s: Rec): unknown[] => arr(rec(s['trunkgate'])['ports']);
    expect(edit((s) => (rec(s['trunkgate'])['ports'] = ports(s).filter((p) => !String(p).endsWith('/udp'))))).toEqual([
      expect.stringContaining('SIP over UDP (5060/udp) is not published'),
    ]);
    expect(edit((s) => (rec(s['trunkgate'])['ports'] = ports(s).map((p) => String(p).replace(':8080:8080', ':8081:8080'))))).toEqual([
      expect.stringContaining('published on host port 8081'),
    ]);
    expect(edit((s) => delete rec(s['sipp'])['profiles'])).toEqual(['sipp: not under profiles: ["sipp"]']);
    expect(
      edit((s) => (rec(s['sipp'])['command'] = commandOf(rec(s['sipp'])).map((a) => a.replace('trunkgate:5060', 'trunkgate:5070')))),
    ).toEqual(['sipp: the command does not target trunkgate:5060']);
    expect(
      edit((s) => (rec(s['sipp'])['command'] = commandOf(rec(s['sipp'])).map((a) => a.replace('demo.pstn', 'acme.pstn')))).join('\n'),
    ).toContain('-key trunk');
    expect(edit((s) => (rec(s['prometheus'])['volumes'] = []))).toEqual([expect.stringContaining('prometheus.yml is not mounted')]);
  });

  it('a Prometheus config that scrapes another port or path fails', () => {
    const compose = loadCompose();
    const prom = loadPrometheus();
    const port = portsOf(config()).http;
    const job = (p: Rec): Rec => rec(arr(p['scrape_configs'])[0]);
    const wrongPort = clone(prom);
    rec(arr(job(wrongPort)['static_configs'])[0])['targets'] = ['trunkgate:9999'];
    expect(prometheusProblems(wrongPort, compose, port)).toEqual([`target trunkgate:9999: trunkgate's HTTP port is ${port}`]);
    const wrongPath = clone(prom);
    job(wrongPath)['metrics_path'] = '/stats';
    expect(prometheusProblems(wrongPath, compose, port)).toEqual(['metrics_path /stats: trunkgate serves /metrics']);
  });

  it('a docker config that listens on loopback, or drifts from the default, fails', () => {
    const c = config();
    expect(containerListenProblems({ ...c, sip: { ...c.sip, listen: ['udp://127.0.0.1:5060', 'tcp://0.0.0.0:5060'] } })).toEqual([
      'sip.listen udp://127.0.0.1:5060: expected 0.0.0.0 or [::]',
    ]);
    expect(containerListenProblems({ ...c, http: { ...c.http, listen: '127.0.0.1:8080' } })).toHaveLength(1);
    const drifted = clone(c);
    drifted.pstn.answerAfterMs += 1;
    expect(withoutContainerSettings(drifted)).not.toEqual(withoutContainerSettings(loadValid(DEFAULT_CONFIG)));
  });

  it('promtool rejects a query that is not PromQL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trunkgate-dashboard-'));
    try {
      writeFileSync(
        join(dir, 'rules.yml'),
        'groups:\n  - name: x\n    rules:\n      - record: x:y\n        expr: "sum by (a (rate(x[1m]))"\n',
      );
      expect(promtool(['check', 'rules', join(dir, 'rules.yml')]).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
