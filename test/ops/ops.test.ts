// Operations files under docker/ checked without a Docker engine: every YAML parses and has the expected
// structure; the images' CMDs and HEALTHCHECKs are run here exactly as written (cwd = repository root,
// the image's WORKDIR); every metric named by the Grafana dashboard, the alert rules and the autoscaler
// is exported by a live gateway or ingester (or by a named exporter); the shipped nginx.conf passes
// `nginx -t`; the Kubernetes manifests let the gateway drain.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import YAML from 'yaml';
import { NGINX_DIR } from '../cluster/harness';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKER = path.join(ROOT, 'docker');
const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

type Obj = Record<string, unknown>;

function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what}: expected a mapping, got ${JSON.stringify(value)}`);
  }
  return value as Obj;
}
function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what}: expected a list, got ${JSON.stringify(value)}`);
  return value;
}
function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(value)}`);
  return value;
}

/** Every document of a YAML file; a syntax error anywhere fails with the file name. */
function yamlDocs(rel: string): Obj[] {
  const text = readFileSync(path.join(ROOT, rel), 'utf8');
  return YAML.parseAllDocuments(text, { merge: true }).map((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${rel} document ${i}: ${doc.errors[0]?.message}`);
    return obj(doc.toJS({ maxAliasCount: 100 }), `${rel} document ${i}`);
  });
}

interface Dockerfile {
  stages: string[];
  cmd: string[];
  healthcheck: string[];
  user: string | undefined;
  text: string;
}

/** The instructions this test relies on, with line continuations joined. */
function dockerfile(rel: string): Dockerfile {
  const text = readFileSync(path.join(ROOT, rel), 'utf8');
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const json = (l: string, what: string): string[] => {
    const at = l.indexOf('[');
    if (at < 0) throw new Error(`${rel}: ${what} must be in exec (JSON) form: ${l}`);
    return arr(JSON.parse(l.slice(at)), `${rel} ${what}`).map((v) => str(v, `${rel} ${what}`));
  };
  const stages = lines.filter((l) => /^FROM\s/i.test(l));
  const cmd = lines.filter((l) => /^CMD\s/i.test(l));
  const health = lines.filter((l) => /^HEALTHCHECK\s/i.test(l));
  const user = lines.filter((l) => /^USER\s/i.test(l)).pop();
  if (cmd.length !== 1 || health.length !== 1)
    throw new Error(`${rel}: one CMD and one HEALTHCHECK expected`);
  const healthCmd = health[0]!.replace(/^HEALTHCHECK\s.*?\bCMD\s/i, 'CMD ');
  return {
    stages,
    cmd: json(cmd[0]!, 'CMD'),
    healthcheck: json(healthCmd, 'HEALTHCHECK'),
    user: user?.split(/\s+/)[1],
    text,
  };
}

interface Proc {
  child: ChildProcess;
  out: string[];
  exited: Promise<number | null>;
}

function start(argv: string[], env: NodeJS.ProcessEnv): Proc {
  const [cmd, ...args] = argv;
  if (cmd !== 'node') throw new Error(`image CMD must start with node, got ${cmd}`);
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

async function waitFor<T>(read: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function loggedPort(proc: Proc, msg: RegExp): number | undefined {
  for (const line of proc.out.join('').split('\n')) {
    if (!msg.test(line)) continue;
    const m = /"port":(\d+)/.exec(line);
    if (m) return Number(m[1]);
  }
  return undefined;
}

/** Runs an image's HEALTHCHECK command as written; its exit code. */
function healthcheck(argv: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  const p = start(argv, env);
  return p.exited;
}

async function waitHealthy(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await healthcheck(argv, env)) !== 0) {
    if (Date.now() > deadline) throw new Error(`HEALTHCHECK ${argv.join(' ')} never passed`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Metric families of a Prometheus text exposition, with the series names they produce. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(name! + s);
    } else if (line && !line.startsWith('#')) {
      names.add(line.split(/[{ ]/)[0]!);
    }
  }
  return names;
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'bool', 'offset']);

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or labels. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const names: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(?=\s*(\(?))/g)) {
    const word = m[0];
    if (m[1] === '(' || PROMQL_WORDS.has(word)) continue;
    names.push(word);
  }
  return names;
}

/**
 * Metrics that neither tickhub service exports, with the compose service that does. `up` is
 * Prometheus' own series per scrape target.
 */
const EXPORTER_METRICS: Record<string, string> = {
  up: 'prometheus',
  redis_up: 'redis-exporter',
};

const compose = yamlDocs('docker/compose.yaml')[0]!;
const services = obj(compose.services, 'compose services');
const gatewayServices = Object.keys(services).filter((s) => /^gateway-\d+$/.test(s));
const alerts = yamlDocs('docker/prometheus/alerts.yml')[0]!;
const alertRules = arr(obj(arr(alerts.groups, 'groups')[0], 'group').rules, 'rules').map((r) =>
  obj(r, 'rule'),
);
const dashboard = obj(
  JSON.parse(readFileSync(path.join(DOCKER, 'grafana/dashboards/tickhub.json'), 'utf8')),
  'dash',
);
const panels = arr(dashboard.panels, 'panels').map((p) => obj(p, 'panel'));
const k8s = [
  'namespace.yaml',
  'config.yaml',
  'gateway.yaml',
  'ingester.yaml',
  'ingress.yaml',
  'monitoring.yaml',
].flatMap((f) => yamlDocs(`docker/k8s/${f}`).map((d) => ({ file: f, doc: d })));
const gatewayImage = dockerfile('docker/gateway.Dockerfile');
const ingesterImage = dockerfile('docker/ingester.Dockerfile');

function k8sObject(kind: string, name: string): Obj {
  const found = k8s.find(({ doc }) => doc.kind === kind && obj(doc.metadata, 'metadata').name === name);
  if (!found) throw new Error(`docker/k8s: no ${kind} ${name}`);
  return found.doc;
}
function podContainer(deployment: Obj): Obj {
  const pod = obj(obj(obj(deployment.spec, 'spec').template, 'template').spec, 'pod spec');
  return obj(arr(pod.containers, 'containers')[0], 'container');
}

/** Every PromQL expression of the dashboard, the alert rules and the autoscaler's custom metric. */
function expressions(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  for (const p of panels) {
    for (const t of arr(p.targets, 'targets')) {
      out.push({ where: `panel "${String(p.title)}"`, expr: str(obj(t, 'target').expr, 'expr') });
    }
  }
  for (const r of alertRules) out.push({ where: `alert ${String(r.alert)}`, expr: str(r.expr, 'expr') });
  const hpa = obj(k8sObject('HorizontalPodAutoscaler', 'gateway').spec, 'hpa spec');
  for (const m of arr(hpa.metrics, 'hpa metrics').map((x) => obj(x, 'metric'))) {
    if (m.type === 'Pods') {
      out.push({ where: 'gateway HPA', expr: str(obj(obj(m.pods, 'pods').metric, 'metric').name, 'name') });
    }
  }
  return out;
}

describe('docker/ images', () => {
  it.each([
    ['gateway', gatewayImage, ['node', 'apps/gateway/dist/main.js']],
    ['ingester', ingesterImage, ['node', 'apps/ingester/dist/main.js']],
  ])(
    '%s: multi-stage, node:20 runtime, non-root, production deps, CMD = the built entry point',
    (_name, image, cmd) => {
      expect(image.stages.length).toBeGreaterThanOrEqual(3);
      expect(image.text).toMatch(/ARG NODE_IMAGE=node:20-(slim|alpine)/);
      expect(image.stages[image.stages.length - 1]).toMatch(/AS runtime$/);
      expect(image.text).toMatch(/npm ci --omit=dev[^\n]*--workspace apps\//);
      expect(image.text).toContain('npx turbo run build');
      expect(image.user).toBe('node');
      expect(image.cmd).toEqual(cmd);
      // The tests spawn the same file: apps/<name>/dist/main.js under the repository root.
      expect(existsSync(path.join(ROOT, cmd[1]!))).toBe(true);
      // Every file the runtime stage copies out of the build stage is produced by the build.
      for (const m of image.text.matchAll(/COPY --from=build \S+ \/src\/(\S+)/g)) {
        expect(existsSync(path.join(ROOT, m[1]!))).toBe(true);
      }
    },
  );

  // The images list workspaces by hand: a package added to the repository, or to an app's
  // dependencies, must be added there too, or `npm ci` fails on the lock file, or the image starts
  // without a module it requires.
  it.each([
    ['gateway', gatewayImage],
    ['ingester', ingesterImage],
  ])(
    '%s: every workspace manifest before each npm ci, every runtime package of the app in the image',
    (name, image) => {
      const workspaces = ['packages', 'apps']
        .flatMap((dir) => readdirSync(path.join(ROOT, dir)).map((w) => `${dir}/${w}`))
        .filter((w) => existsSync(path.join(ROOT, w, 'package.json')))
        .concat('test');
      const stages = image.text.split(/^FROM\s/m).slice(1);
      for (const stage of stages.filter((st) => /\bnpm ci\b/.test(st))) {
        const copied = [...stage.matchAll(/^COPY (\S+)\/package\.json \1\/$/gm)].map((m) => m[1]);
        expect([...copied].sort()).toEqual([...workspaces].sort());
      }
      const byName = new Map(
        workspaces.map((w) => [JSON.parse(readFileSync(path.join(ROOT, w, 'package.json'), 'utf8')).name, w]),
      );
      const runtime = new Set<string>();
      const visit = (w: string): void => {
        if (runtime.has(w)) return;
        runtime.add(w);
        const deps = JSON.parse(readFileSync(path.join(ROOT, w, 'package.json'), 'utf8')).dependencies ?? {};
        for (const dep of Object.keys(deps)) if (byName.has(dep)) visit(byName.get(dep)!);
      };
      visit(`apps/${name}`);
      const last = stages[stages.length - 1]!;
      for (const w of runtime) {
        expect(last).toContain(`/src/${w}/package.json ${w}/`);
        expect(last).toContain(`/src/${w}/dist ${w}/dist`);
      }
    },
  );

  it('.dockerignore keeps build outputs and node_modules out of the context but not the sources', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '**/dist']));
    expect(ignore).not.toContain('packages');
    expect(ignore).not.toContain('apps');
  });
});

describe('compose.yaml', () => {
  it('runs Kafka (KRaft), Redis, the ingester, three gateways, nginx, Prometheus and Grafana', () => {
    expect(gatewayServices).toEqual(['gateway-1', 'gateway-2', 'gateway-3']);
    for (const s of ['kafka', 'redis', 'redis-exporter', 'ingester', 'lb', 'prometheus', 'grafana']) {
      expect(services[s]).toBeDefined();
    }
    const kafka = obj(services.kafka, 'kafka');
    expect(kafka.image).toBe('apache/kafka:4.1.1');
    const kenv = obj(kafka.environment, 'kafka env');
    expect(kenv.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kenv.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(kenv.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');
    expect(String(kenv.CLUSTER_ID)).toMatch(/^[A-Za-z0-9_-]{22}$/);

    const builds = new Map([
      ['ingester', 'docker/ingester.Dockerfile'],
      ...gatewayServices.map((g) => [g, 'docker/gateway.Dockerfile'] as [string, string]),
    ]);
    for (const [name, file] of builds) {
      const svc = obj(services[name], name);
      const build = obj(svc.build, `${name} build`);
      expect(path.resolve(DOCKER, str(build.context, 'context'))).toBe(ROOT);
      expect(build.dockerfile).toBe(file);
    }
  });

  it('gives each gateway the id nginx routes on and more stop time than its drain', () => {
    const podsConf = readFileSync(path.join(NGINX_DIR, 'tickhub-pods.conf'), 'utf8');
    for (const name of gatewayServices) {
      const svc = obj(services[name], name);
      const env = obj(svc.environment, `${name} env`);
      expect(env.GATEWAY_ID).toBe(name);
      expect(env.KAFKA_BROKERS).toBe('kafka:9092');
      expect(env.REDIS_URL).toBe('redis://redis:6379');
      const grace = /^(\d+)s$/.exec(str(svc.stop_grace_period, 'stop_grace_period'));
      expect(Number(grace?.[1]) * 1000).toBeGreaterThan(Number(env.DRAIN_GRACE_MS));
      expect(podsConf).toContain(`upstream pod_${name} {\n    server ${name}:8080;`);
    }
    // The shipped per-pod part is exactly what render-pods.sh writes for these services.
    const rendered = execFileSync('sh', [
      path.join(NGINX_DIR, 'render-pods.sh'),
      ...gatewayServices.map((g) => `${g}=${g}:8080`),
    ]).toString();
    expect(podsConf).toBe(rendered);
  });

  it('mounts the nginx.conf of the end-to-end tests and the Prometheus and Grafana files that exist', () => {
    const volumes = (name: string) =>
      arr(obj(services[name], name).volumes, `${name} volumes`).map((v) => str(v, 'volume').split(':'));
    const lb = volumes('lb');
    expect(lb).toContainEqual(['./nginx/nginx.conf', '/etc/nginx/nginx.conf', 'ro']);
    expect(path.resolve(DOCKER, 'nginx')).toBe(NGINX_DIR);
    for (const name of ['lb', 'prometheus', 'grafana']) {
      for (const [src] of volumes(name)) expect(existsSync(path.resolve(DOCKER, src!))).toBe(true);
    }
  });

  it('Prometheus scrapes every gateway, the ingester and Redis, and loads the alert rules', () => {
    const prom = yamlDocs('docker/prometheus/prometheus.yml')[0]!;
    expect(prom.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
    const jobs = new Map(
      arr(prom.scrape_configs, 'scrape_configs').map((c) => {
        const job = obj(c, 'scrape config');
        const targets = arr(job.static_configs, 'static_configs').flatMap((s) =>
          arr(obj(s, 'static').targets, 'targets'),
        );
        return [job.job_name, targets] as [string, unknown[]];
      }),
    );
    expect(jobs.get('gateway')).toEqual(gatewayServices.map((g) => `${g}:8080`));
    expect(jobs.get('ingester')).toEqual([
      `ingester:${obj(obj(services.ingester, 'ingester').environment, 'env').INGESTER_HTTP_PORT}`,
    ]);
    expect(jobs.get('redis')).toEqual(['redis-exporter:9121']);
  });

  it('Grafana: provisioned datasource and dashboard with the panels of the issue', () => {
    const ds = yamlDocs('docker/grafana/provisioning/datasources/prometheus.yaml')[0]!;
    const source = obj(arr(ds.datasources, 'datasources')[0], 'datasource');
    expect(source.url).toBe('http://prometheus:9090');
    const provider = obj(
      arr(yamlDocs('docker/grafana/provisioning/dashboards/tickhub.yaml')[0]!.providers, 'providers')[0],
      'provider',
    );
    expect(obj(provider.options, 'options').path).toBe('/var/lib/grafana/dashboards');
    for (const p of panels) {
      expect(obj(p.datasource, 'datasource').uid).toBe(source.uid);
      expect(arr(p.targets, 'targets').length).toBeGreaterThan(0);
    }
    const titles = panels.map((p) => String(p.title).toLowerCase());
    for (const t of [
      'connections',
      'subscriptions',
      'updates/s',
      'p99 latency',
      'slow consumers',
      'kafka lag',
      'redis',
    ]) {
      expect(titles.some((title) => title.includes(t))).toBe(true);
    }
  });
});

describe('Kubernetes manifests', () => {
  const config = obj(k8sObject('ConfigMap', 'tickhub-config').data, 'configmap data');

  it('has every kind the issue asks for', () => {
    const kinds = k8s.map(({ doc }) => doc.kind);
    for (const kind of [
      'Namespace',
      'ConfigMap',
      'Secret',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'Ingress',
      'PrometheusRule',
    ]) {
      expect(kinds).toContain(kind);
    }
    const kustomization = yamlDocs('docker/k8s/kustomization.yaml')[0]!;
    for (const r of arr(kustomization.resources, 'resources')) {
      expect(existsSync(path.join(DOCKER, 'k8s', str(r, 'resource')))).toBe(true);
    }
  });

  it('lets a gateway pod drain: preStop sleep + DRAIN_GRACE_MS < terminationGracePeriodSeconds', () => {
    const deployment = k8sObject('Deployment', 'gateway');
    const pod = obj(obj(obj(deployment.spec, 'spec').template, 'template').spec, 'pod');
    const c = podContainer(deployment);
    const preStop = arr(
      obj(obj(obj(c.lifecycle, 'lifecycle').preStop, 'preStop').exec, 'exec').command,
      'cmd',
    );
    expect(preStop[0]).toBe('sleep');
    const sleepS = Number(preStop[1]);
    const drainS = Number(config.DRAIN_GRACE_MS) / 1000;
    expect(sleepS).toBeGreaterThan(0);
    expect(sleepS + drainS).toBeLessThan(Number(pod.terminationGracePeriodSeconds));
    const rolling = obj(obj(obj(deployment.spec, 'spec').strategy, 'strategy').rollingUpdate, 'rolling');
    expect(rolling.maxUnavailable).toBe(0);
    expect(c.command).toEqual(gatewayImage.cmd);
    expect(obj(obj(c.readinessProbe, 'readiness').httpGet, 'get').path).toBe('/health/ready');
    expect(obj(obj(c.livenessProbe, 'liveness').httpGet, 'get').path).toBe('/health/live');
  });

  it('runs the ingester with the image CMD and its own health endpoints', () => {
    const c = podContainer(k8sObject('Deployment', 'ingester'));
    expect(c.command).toEqual(ingesterImage.cmd);
    expect(obj(obj(c.readinessProbe, 'readiness').httpGet, 'get').path).toBe('/health/ready');
    expect(obj(obj(c.livenessProbe, 'liveness').httpGet, 'get').path).toBe('/health/live');
  });

  it('PDB, HPA on CPU and sessions per pod, Service and Ingress on the gateway', () => {
    const pdb = obj(k8sObject('PodDisruptionBudget', 'gateway').spec, 'pdb');
    expect(obj(obj(pdb.selector, 'sel').matchLabels, 'labels')['app.kubernetes.io/name']).toBe('gateway');
    const hpa = obj(k8sObject('HorizontalPodAutoscaler', 'gateway').spec, 'hpa');
    const types = arr(hpa.metrics, 'metrics').map((m) => obj(m, 'm').type);
    expect(types).toEqual(['Resource', 'Pods']);
    const adapter = k8sObject('ConfigMap', 'prometheus-adapter-tickhub');
    const rules = YAML.parse(str(obj(adapter.data, 'data')['config.yaml'], 'adapter config'));
    expect(JSON.stringify(rules)).toContain('tickhub_gateway_sessions');
    for (const name of ['gateway', 'gateway-signalr']) {
      const ingress = k8sObject('Ingress', name);
      const ann = obj(obj(ingress.metadata, 'metadata').annotations, 'annotations');
      expect(Number(ann['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
      expect(JSON.stringify(ingress.spec)).toContain('"name":"gateway"');
    }
  });

  it('the PrometheusRule carries the same alert groups as docker/prometheus/alerts.yml', () => {
    expect(obj(k8sObject('PrometheusRule', 'tickhub').spec, 'rule spec').groups).toEqual(alerts.groups);
  });
});

describe('docs/operations.md', () => {
  it('has a Deploy section and a runbook entry for every alert', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    expect(doc).toMatch(/^## Deploy$/m);
    for (const r of alertRules) {
      expect(doc).toContain(`### ${String(r.alert)}`);
      expect(obj(r.annotations, 'annotations').runbook).toBe(
        `docs/operations.md#${String(r.alert).toLowerCase()}`,
      );
    }
  });
});

describe('nginx', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'tickhub-ops-nginx-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  function nginxTest(dir: string): void {
    const user = process.getuid?.() === 0 ? 'user root; ' : '';
    execFileSync(
      NGINX,
      [
        '-t',
        '-q',
        '-p',
        dir,
        '-e',
        path.join(dir, 'error.log'),
        '-c',
        path.join(dir, 'nginx.conf'),
        '-g',
        `${user}pid ${path.join(dir, 'nginx.pid')};`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  }

  it('the shipped nginx.conf passes nginx -t with pods rendered by render-pods.sh', () => {
    const conf = readFileSync(path.join(NGINX_DIR, 'nginx.conf'), 'utf8');
    const dir = path.join(tmp, 'lb');
    execFileSync('mkdir', ['-p', dir]);
    // Same file, pod addresses that resolve here (the compose names only resolve inside compose).
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const pods = execFileSync('sh', [
      path.join(NGINX_DIR, 'render-pods.sh'),
      ...gatewayServices.map((g, i) => `${g}=127.0.0.1:${18081 + i}`),
    ]);
    writeFileSync(path.join(dir, 'tickhub-pods.conf'), pods);
    expect(() => nginxTest(dir)).not.toThrow();
  });

  it("the Ingress's id routing snippet is valid nginx", () => {
    const ann = obj(obj(k8sObject('Ingress', 'gateway-signalr').metadata, 'm').annotations, 'a');
    const snippet = str(ann['nginx.ingress.kubernetes.io/configuration-snippet'], 'snippet');
    const dir = path.join(tmp, 'ingress');
    execFileSync('mkdir', ['-p', dir]);
    writeFileSync(
      path.join(dir, 'nginx.conf'),
      `events {}\nhttp {\n  server {\n    listen 127.0.0.1:18099;\n    location /hubs {\n${snippet}\n      proxy_pass http://127.0.0.1:18098;\n    }\n  }\n}\n`,
    );
    expect(() => nginxTest(dir)).not.toThrow();
  });
});

describe('live services', () => {
  const procs: Proc[] = [];
  const topic = `ops-metrics-${randomBytes(4).toString('hex')}`;
  const brokers = process.env.KAFKA_BROKERS;
  let gatewayNames = new Set<string>();
  let ingesterNames = new Set<string>();

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    if (brokers) {
      const admin = new Kafka({ brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
    }
  });

  it('the gateway image CMD serves its probes, passes its HEALTHCHECK and drains on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DRAIN_GRACE_MS: '5000',
      LOG_LEVEL: 'info',
    };
    delete env.KAFKA_BROKERS;
    delete env.REDIS_URL;
    const gw = start(gatewayImage.cmd, env);
    procs.push(gw);
    const port = await waitFor(() => loggedPort(gw, /"msg":"listening"/), 20_000, 'the gateway to listen');
    await waitHealthy(gatewayImage.healthcheck, { ...process.env, PORT: String(port) }, 20_000);
    // The Deployment's probes, asked on the running gateway.
    const c = podContainer(k8sObject('Deployment', 'gateway'));
    const probes = ['readinessProbe', 'livenessProbe', 'startupProbe'].map((k) =>
      str(obj(obj(c[k], k).httpGet, `${k}.httpGet`).path, `${k} path`),
    );
    for (const probe of probes) {
      expect((await fetch(`http://127.0.0.1:${port}${probe}`)).status).toBe(200);
    }
    gatewayNames = exportedNames(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    gw.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await gw.exited).toBe(0);
  });

  it('the ingester image CMD passes its HEALTHCHECK against Kafka and exports its metrics', async () => {
    if (!brokers) throw new Error('KAFKA_BROKERS is not set: this test needs the real Kafka broker');
    const env = {
      ...process.env,
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC: topic,
      KAFKA_PARTITIONS: '1',
      TICK_RATE: '20',
      INGESTER_HTTP_PORT: '0',
      INGESTER_HTTP_HOST: '127.0.0.1',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    };
    const ing = start(ingesterImage.cmd, env);
    procs.push(ing);
    const port = await waitFor(() => loggedPort(ing, /http listening/), 20_000, 'the ingester http server');
    await waitHealthy(
      ingesterImage.healthcheck,
      { ...process.env, INGESTER_HTTP_PORT: String(port) },
      30_000,
    );
    ingesterNames = exportedNames(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    ing.child.kill('SIGTERM');
    expect(await ing.exited).toBe(0);
  });

  it('the ConfigMap and the JWT Secret pass the gateway start-up validation, with the pod IP as id', async () => {
    const data = obj(k8sObject('ConfigMap', 'tickhub-config').data, 'configmap data');
    // Every key is a variable one of the apps reads.
    const sources = ['apps/gateway/src', 'apps/ingester/src']
      .flatMap((dir) =>
        execFileSync('find', [path.join(ROOT, dir), '-name', '*.ts', '!', '-name', '*.test.ts'])
          .toString()
          .split('\n')
          .filter(Boolean),
      )
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const key of Object.keys(data)) expect(sources).toMatch(new RegExp(`\\b${key}\\b`));

    const secret = obj(k8sObject('Secret', 'tickhub-jwt').stringData, 'secret data');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tickhub-ops-jwt-'));
    try {
      writeFileSync(path.join(dir, 'jwks.json'), str(secret['jwks.json'], 'jwks.json'));
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const [k, v] of Object.entries(data)) env[k] = String(v);
      // Kafka and Redis of the cluster do not exist here: the gateway runs embedded, with the rest as in a pod.
      delete env.KAFKA_BROKERS;
      delete env.REDIS_URL;
      Object.assign(env, {
        PORT: '0',
        HOST: '127.0.0.1',
        GATEWAY_ID: '10.1.2.3',
        AUTH_JWKS_FILE: path.join(dir, 'jwks.json'),
      });
      const gw = start(gatewayImage.cmd, env);
      procs.push(gw);
      const started = await Promise.race([
        waitFor(() => loggedPort(gw, /"msg":"listening"/), 20_000, 'the gateway to listen'),
        gw.exited.then((code) => {
          throw new Error(`gateway exited with ${code}: ${gw.out.join('')}`);
        }),
      ]);
      // The gateway installs its SIGTERM handler after it starts listening: signal it once it is ready,
      // as the kubelet would, not in that window.
      await waitHealthy(gatewayImage.healthcheck, { ...process.env, PORT: String(started) }, 20_000);
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every metric of the dashboard, the alerts and the HPA is exported by a live service or a named exporter', () => {
    expect(gatewayNames.size).toBeGreaterThan(20);
    expect(ingesterNames.size).toBeGreaterThan(10);
    const missing: string[] = [];
    let checked = 0;
    for (const { where, expr } of expressions()) {
      for (const name of metricNames(expr)) {
        checked++;
        const exporter = EXPORTER_METRICS[name];
        const ok = name.startsWith('tickhub_gateway_')
          ? gatewayNames.has(name)
          : name.startsWith('tickhub_ingester_')
            ? ingesterNames.has(name)
            : exporter !== undefined && services[exporter] !== undefined;
        if (!ok) missing.push(`${where}: ${name}`);
      }
    }
    expect(missing).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });
});
