// deploy/k8s: every manifest parses, uses only known fields at the levels we write, and the pieces
// agree (labels, names, ports, config variables, the Ingress's auth-url). Rendered with
// `kubectl kustomize` too when kubectl is installed (offline; no cluster needed).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parse, parseAllDocuments } from 'yaml';
import { CONFIG_VARIABLES } from '../../validator/config/schema';

const ROOT = path.resolve(__dirname, '..', '..');
const K8S = path.join(ROOT, 'deploy/k8s');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function load(dir: string): { kustomization: Obj; docs: Obj[] } {
  const kustomization = parse(readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Obj;
  const docs: Obj[] = [];
  for (const file of kustomization.resources as string[]) {
    expect({ file, exists: existsSync(path.join(dir, file)) }).toEqual({ file, exists: true });
    for (const d of parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'))) {
      expect(d.errors).toEqual([]);
      docs.push(d.toJS() as Obj);
    }
  }
  return { kustomization, docs };
}

const base = load(K8S);
const ingressDir = load(path.join(K8S, 'ingress'));
const byKind = (docs: Obj[], kind: string) => docs.filter((d) => d.kind === kind);
const one = (docs: Obj[], kind: string) => {
  const found = byKind(docs, kind);
  expect({ kind, count: found.length }).toEqual({ kind, count: 1 });
  return found[0];
};

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Secret: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  Ingress: 'networking.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
};

// Known fields at the levels these manifests use (subset of the Kubernetes API): catches typos
// such as `readinesProbe` that kubectl would only report against a live cluster.
const FIELDS = {
  deploymentSpec: ['replicas', 'revisionHistoryLimit', 'strategy', 'selector', 'template', 'minReadySeconds', 'progressDeadlineSeconds', 'paused'],
  podSpec: [
    'serviceAccountName', 'automountServiceAccountToken', 'terminationGracePeriodSeconds', 'securityContext', 'topologySpreadConstraints',
    'initContainers', 'containers', 'volumes', 'affinity', 'nodeSelector', 'tolerations', 'priorityClassName', 'enableServiceLinks',
  ],
  container: [
    'name', 'image', 'imagePullPolicy', 'command', 'args', 'ports', 'env', 'envFrom', 'securityContext', 'resources',
    'startupProbe', 'livenessProbe', 'readinessProbe', 'lifecycle', 'volumeMounts', 'workingDir',
  ],
  probe: ['httpGet', 'exec', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'],
  containerSecurityContext: ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'runAsNonRoot', 'runAsUser', 'runAsGroup', 'capabilities', 'privileged', 'seccompProfile'],
  podSecurityContext: ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile', 'supplementalGroups'],
  serviceSpec: ['type', 'selector', 'ports', 'clusterIP', 'sessionAffinity'],
  hpaSpec: ['scaleTargetRef', 'minReplicas', 'maxReplicas', 'metrics', 'behavior'],
  pdbSpec: ['minAvailable', 'maxUnavailable', 'selector', 'unhealthyPodEvictionPolicy'],
  ingressSpec: ['ingressClassName', 'tls', 'rules', 'defaultBackend'],
  networkPolicySpec: ['podSelector', 'policyTypes', 'ingress', 'egress'],
};
const onlyKnown = (where: string, obj: Obj | undefined, allowed: string[]) => {
  for (const key of Object.keys(obj ?? {})) expect({ where, key, known: allowed.includes(key) }).toEqual({ where, key, known: true });
};
const QUANTITY_CPU = /^(\d+m|\d+(\.\d+)?)$/;

/** The identity headers the NGINX template forwards from the validator's answer (`$auth_…`), in order. */
const IDENTITY_HEADERS = [
  ...readFileSync(path.join(ROOT, 'nginx/templates/snippets/identity-headers.conf.template'), 'utf8').matchAll(/^proxy_set_header\s+(X-[\w-]+)\s+\$auth_/gm),
].map((m) => m[1]!);
const QUANTITY_MEM = /^\d+(Ki|Mi|Gi)$/;

describe('deploy/k8s', () => {
  const deployment = one(base.docs, 'Deployment');
  const pod = deployment.spec.template.spec as Obj;
  const validator = (pod.containers as Obj[]).find((c) => c.name === 'validator')!;
  const service = one(base.docs, 'Service');
  const labels = deployment.spec.template.metadata.labels as Record<string, string>;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

  test('every manifest has the right apiVersion and a name', () => {
    for (const d of [...base.docs, ...ingressDir.docs]) {
      expect({ kind: d.kind, apiVersion: d.apiVersion }).toEqual({ kind: d.kind, apiVersion: API_VERSIONS[d.kind] });
      expect(typeof d.metadata?.name).toBe('string');
    }
    expect(one(base.docs, 'Namespace').metadata.name).toBe(base.kustomization.namespace);
  });

  test('Deployment: >= 2 replicas, probes on /api/health and /api/ready, limits, hardened security context', () => {
    onlyKnown('Deployment.spec', deployment.spec, FIELDS.deploymentSpec);
    onlyKnown('pod spec', pod, FIELDS.podSpec);
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(matches(deployment.spec.selector.matchLabels)).toBe(true);
    expect(pod.automountServiceAccountToken).toBe(false);
    onlyKnown('pod securityContext', pod.securityContext, FIELDS.podSecurityContext);
    expect(pod.securityContext.runAsNonRoot).toBe(true);

    for (const c of [...(pod.initContainers as Obj[]), ...(pod.containers as Obj[])]) {
      onlyKnown(`container ${c.name}`, c, FIELDS.container);
      onlyKnown(`container ${c.name} securityContext`, c.securityContext, FIELDS.containerSecurityContext);
      expect(c.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      expect(c.resources.requests.cpu).toMatch(QUANTITY_CPU);
      expect(c.resources.limits.cpu).toMatch(QUANTITY_CPU);
      expect(c.resources.requests.memory).toMatch(QUANTITY_MEM);
      expect(c.resources.limits.memory).toMatch(QUANTITY_MEM);
      // Every mount names a defined volume; /tmp is the only writable one.
      for (const m of c.volumeMounts as Obj[]) expect((pod.volumes as Obj[]).map((v) => v.name)).toContain(m.name);
    }
    for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) onlyKnown(probe, validator[probe], FIELDS.probe);
    expect(validator.livenessProbe.httpGet).toEqual({ path: '/api/health', port: 'http' });
    expect(validator.readinessProbe.httpGet).toEqual({ path: '/api/ready', port: 'http' });
    expect(validator.ports).toEqual([{ name: 'http', containerPort: 3000 }]);
  });

  test('config: ConfigMap holds only known, non-secret variables; secrets arrive as *_FILE from the Secret volume', () => {
    const known = new Map(CONFIG_VARIABLES.map((v) => [v.name, v]));
    const gen = (base.kustomization.configMapGenerator as Obj[])[0];
    const env = parseEnv(readFileSync(path.join(K8S, gen.envs[0]), 'utf8'));
    for (const key of Object.keys(env)) {
      expect({ key, known: known.has(key) }).toEqual({ key, known: true });
      expect({ key, secret: Boolean(known.get(key)?.secret) }).toEqual({ key, secret: false });
    }
    expect(env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000', AUTH_MODE: 'jwks' });
    expect(env.AUTH_JWKS_URL.startsWith('https://')).toBe(true);
    for (const c of [...(pod.initContainers as Obj[]), ...(pod.containers as Obj[])]) {
      expect(c.envFrom).toEqual([{ configMapRef: { name: gen.name } }]);
    }
    const secretVolume = (pod.volumes as Obj[]).find((v) => v.secret)!;
    const example = parse(readFileSync(path.join(K8S, 'secret.example.yaml'), 'utf8')) as Obj;
    expect(secretVolume.secret.secretName).toBe(example.metadata.name);
    expect(base.kustomization.resources).not.toContain('secret.example.yaml');
    const mount = (validator.volumeMounts as Obj[]).find((m) => m.name === secretVolume.name)!;
    for (const e of validator.env as Obj[]) {
      expect(e.name.endsWith('_FILE')).toBe(true);
      const varName = e.name.slice(0, -'_FILE'.length);
      expect(known.has(varName)).toBe(true);
      expect(e.value).toBe(`${mount.mountPath}/${varName}`);
      expect(Object.keys(example.stringData)).toContain(varName);
    }
  });

  test('Service, PDB, HPA and NetworkPolicy select the validator pods', () => {
    onlyKnown('Service.spec', service.spec, FIELDS.serviceSpec);
    expect(service.spec.type).toBe('ClusterIP');
    expect(matches(service.spec.selector)).toBe(true);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }]);

    const pdb = one(base.docs, 'PodDisruptionBudget');
    onlyKnown('PDB.spec', pdb.spec, FIELDS.pdbSpec);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);

    const hpa = one(base.docs, 'HorizontalPodAutoscaler');
    onlyKnown('HPA.spec', hpa.spec, FIELDS.hpaSpec);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    // HPA on CPU utilisation needs a CPU request.
    expect(validator.resources.requests.cpu).toBeDefined();

    const np = one(base.docs, 'NetworkPolicy');
    onlyKnown('NetworkPolicy.spec', np.spec, FIELDS.networkPolicySpec);
    expect(matches(np.spec.podSelector.matchLabels)).toBe(true);
    expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 3000 }]);
  });

  test("Ingress: ingress-nginx external auth pointing at the validator Service's cluster DNS name", () => {
    const ingress = one(ingressDir.docs, 'Ingress');
    onlyKnown('Ingress.spec', ingress.spec, FIELDS.ingressSpec);
    const a = ingress.metadata.annotations as Record<string, string>;
    const ns = base.kustomization.namespace as string;
    expect(a['nginx.ingress.kubernetes.io/auth-url']).toBe(
      `http://${service.metadata.name}.${ns}.svc.cluster.local:${service.spec.ports[0].port}/api/auth/validate`,
    );
    // ingress-nginx overwrites only the listed names: a client's own X-User-Email reaches the app
    // unless it is listed. Every header the NGINX template sets from the validator's answer must be.
    const forwarded = a['nginx.ingress.kubernetes.io/auth-response-headers']!.split(',');
    expect(IDENTITY_HEADERS).toEqual(expect.arrayContaining(['X-User-Id', 'X-Scopes', 'X-Client-Id', 'X-User-Email', 'X-Ticks-Charged', 'X-Ticks-Remaining']));
    expect(forwarded).toEqual(IDENTITY_HEADERS);
    expect(forwarded).toContain('X-User-Email');
    // auth-method makes ingress-nginx send X-Original-URI (X-Original-Method/-URL are always sent).
    expect(a['nginx.ingress.kubernetes.io/auth-method']).toBe('GET');
    // Decisions charge quota: they must never be cached by the ingress.
    expect(a['nginx.ingress.kubernetes.io/auth-cache-key']).toBeUndefined();
    expect(a['nginx.ingress.kubernetes.io/auth-snippet']).toBeUndefined();
    expect(ingress.spec.ingressClassName).toBe('nginx');
    for (const rule of ingress.spec.rules as Obj[]) {
      for (const p of rule.http.paths as Obj[]) {
        expect(['Prefix', 'Exact', 'ImplementationSpecific']).toContain(p.pathType);
        expect(Number.isInteger(p.backend.service.port.number)).toBe(true);
      }
    }
    expect(ingress.spec.tls[0].hosts).toEqual(ingress.spec.rules.map((r: Obj) => r.host));
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
  (kubectl ? test : test.skip)('kubectl kustomize renders both kustomizations consistently', () => {
    const rendered = parseAllDocuments(execFileSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
    const cm = one(rendered, 'ConfigMap');
    expect(cm.metadata.name).toMatch(/^tollgate-validator-config-[a-z0-9]+$/);
    const dep = one(rendered, 'Deployment');
    for (const c of [...dep.spec.template.spec.initContainers, ...dep.spec.template.spec.containers]) {
      expect(c.envFrom[0].configMapRef.name).toBe(cm.metadata.name);
      expect(c.image).toBe(`${base.kustomization.images[0].newName}:${base.kustomization.images[0].newTag}`);
    }
    for (const d of rendered) if (d.kind !== 'Namespace') expect(d.metadata.namespace).toBe('tollgate');
    const ing = parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(K8S, 'ingress')], { encoding: 'utf8' })).map((d) => d.toJS() as Obj);
    expect(one(ing, 'Ingress').metadata.namespace).toBe(ingressDir.kustomization.namespace);
  });
});
