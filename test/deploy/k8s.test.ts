// deploy/k8s: the base (the validator) and every overlay render with `kubectl kustomize`, every
// rendered object passes the Kubernetes / Gateway API schema check (kubernetes-models) or, for
// Envoy Gateway's kinds, a hand-written one, uses only known fields at the levels we write, and
// the pieces agree (labels, names, ports, config variables, the front each overlay configures).
// The two gateway overlays have their own file (k8s-gateways.test.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseEnv } from 'dotenv';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../validator/config/schema';
import { REPO_ROOT as ROOT } from '../../devkit/root';
import { ENVOY_GATEWAY_SCHEMAS, KUBECTL, OVERLAYS, byKind, miniValidate, one, render, validateWithModels, type Obj } from './k8s-render';

const BASE = path.join(ROOT, 'deploy/k8s/base');
const baseKustomization = parse(readFileSync(path.join(BASE, 'kustomization.yaml'), 'utf8')) as Obj;

const API_VERSIONS: Record<string, string> = {
  Namespace: 'v1',
  ServiceAccount: 'v1',
  Service: 'v1',
  Secret: 'v1',
  Deployment: 'apps/v1',
  PodDisruptionBudget: 'policy/v1',
  HorizontalPodAutoscaler: 'autoscaling/v2',
  ConfigMap: 'v1',
  Gateway: 'gateway.networking.k8s.io/v1',
  HTTPRoute: 'gateway.networking.k8s.io/v1',
  ReferenceGrant: 'gateway.networking.k8s.io/v1beta1',
  SecurityPolicy: 'gateway.envoyproxy.io/v1alpha1',
  ClientTrafficPolicy: 'gateway.envoyproxy.io/v1alpha1',
  Ingress: 'networking.k8s.io/v1',
  NetworkPolicy: 'networking.k8s.io/v1',
};

// Known fields at the levels these manifests use (subset of the Kubernetes API): catches typos
// such as `readinesProbe` that kubectl would only report against a live cluster.
const FIELDS = {
  deploymentSpec: ['replicas', 'revisionHistoryLimit', 'strategy', 'selector', 'template', 'minReadySeconds', 'progressDeadlineSeconds', 'paused'],
  podSpec: [
    'serviceAccountName',
    'automountServiceAccountToken',
    'terminationGracePeriodSeconds',
    'securityContext',
    'topologySpreadConstraints',
    'initContainers',
    'containers',
    'volumes',
    'affinity',
    'nodeSelector',
    'tolerations',
    'priorityClassName',
    'enableServiceLinks',
  ],
  container: [
    'name',
    'image',
    'imagePullPolicy',
    'command',
    'args',
    'ports',
    'env',
    'envFrom',
    'securityContext',
    'resources',
    'startupProbe',
    'livenessProbe',
    'readinessProbe',
    'lifecycle',
    'volumeMounts',
    'workingDir',
  ],
  probe: ['httpGet', 'exec', 'tcpSocket', 'grpc', 'initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'failureThreshold', 'successThreshold'],
  containerSecurityContext: [
    'allowPrivilegeEscalation',
    'readOnlyRootFilesystem',
    'runAsNonRoot',
    'runAsUser',
    'runAsGroup',
    'capabilities',
    'privileged',
    'seccompProfile',
  ],
  podSecurityContext: ['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile', 'supplementalGroups'],
  serviceSpec: ['type', 'selector', 'ports', 'clusterIP', 'sessionAffinity', 'externalTrafficPolicy'],
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

const describeRendered = KUBECTL ? describe : describe.skip;

describeRendered('deploy/k8s (kubectl kustomize)', () => {
  const base = render('base');
  const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, render(`overlays/${o}`)])) as Record<(typeof OVERLAYS)[number], Obj[]>;
  const deployment = one(base, 'Deployment', 'tollgate-validator');
  const pod = deployment.spec.template.spec as Obj;
  const validator = (pod.containers as Obj[]).find((c) => c.name === 'validator')!;
  const service = one(base, 'Service', 'tollgate-validator');
  const labels = deployment.spec.template.metadata.labels as Record<string, string>;
  const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  const validatorConfig = (docs: Obj[]) => one(docs, 'ConfigMap', 'tollgate-validator-config').data as Record<string, string>;

  test('every object of the base and of each overlay passes the schema check', () => {
    for (const [name, docs] of [['base', base], ...Object.entries(rendered)] as Array<[string, Obj[]]>) {
      const results = validateWithModels(docs);
      for (const [i, r] of results.entries()) {
        const doc = docs[i]!;
        const hand = ENVOY_GATEWAY_SCHEMAS[doc.kind];
        // Every kind is checked by one of the two: a model from kubernetes-models, or ours.
        expect({ name, kind: r.kind, checkedBy: r.checked ? 'models' : hand ? 'hand-written' : 'nothing' }).not.toEqual({
          name,
          kind: r.kind,
          checkedBy: 'nothing',
        });
        const errors = r.checked ? (r.error ? [r.error] : []) : miniValidate(hand!, doc);
        expect({ name, kind: doc.kind, object: doc.metadata.name, errors }).toEqual({ name, kind: doc.kind, object: doc.metadata.name, errors: [] });
        expect({ kind: doc.kind, apiVersion: doc.apiVersion }).toEqual({ kind: doc.kind, apiVersion: API_VERSIONS[doc.kind] });
      }
    }
  });

  test('the schema check fails on a wrong object (so a pass means something)', () => {
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(validateWithModels([broken])[0]!.error).toMatch(/containerPort must be integer/);
    const route = structuredClone(one(rendered['envoy-gateway'], 'HTTPRoute', 'wavestack-api'));
    route.spec.rules[0].matches[0].path.type = 'Prefix';
    expect(validateWithModels([route])[0]!.error).toMatch(/must be equal to one of the allowed values/);
    const policy = structuredClone(one(rendered['envoy-gateway'], 'SecurityPolicy'));
    policy.spec.extAuth.http.headersToBackends = policy.spec.extAuth.http.headersToBackend;
    expect(miniValidate(ENVOY_GATEWAY_SCHEMAS.SecurityPolicy!, policy)).toEqual(['/spec/extAuth/http/headersToBackends: unknown field']);
  });

  test('base: namespaced objects in tollgate, the ConfigMap hash-named and referenced, the image set', () => {
    const cm = one(base, 'ConfigMap', 'tollgate-validator-config');
    expect(cm.metadata.name).toMatch(/^tollgate-validator-config-[a-z0-9]+$/);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.envFrom).toEqual([{ configMapRef: { name: cm.metadata.name } }]);
      expect(c.image).toBe(`${baseKustomization.images[0].newName}:${baseKustomization.images[0].newTag}`);
    }
    for (const d of base) if (d.kind !== 'Namespace') expect(d.metadata.namespace).toBe('tollgate');
    expect(one(base, 'Namespace').metadata.name).toBe('tollgate');
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
      expect(c.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
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
    const gen = (baseKustomization.configMapGenerator as Obj[])[0];
    const env = parseEnv(readFileSync(path.join(BASE, gen.envs[0]), 'utf8'));
    for (const docs of [base, ...Object.values(rendered)]) {
      for (const key of Object.keys(validatorConfig(docs))) {
        expect({ key, known: known.has(key) }).toEqual({ key, known: true });
        expect({ key, secret: Boolean(known.get(key)?.secret) }).toEqual({ key, secret: false });
      }
    }
    expect(env).toMatchObject({
      NODE_ENV: 'production',
      HOST: '0.0.0.0',
      PORT: '3000',
      AUTH_MODE: 'jwks',
      AUTH_FRONT: 'nginx',
      QUOTA_TRUST_CHARGE_ID: 'false',
    });
    expect(env.AUTH_JWKS_URL.startsWith('https://')).toBe(true);
    const secretVolume = (pod.volumes as Obj[]).find((v) => v.secret)!;
    const example = parse(readFileSync(path.join(BASE, 'secret.example.yaml'), 'utf8')) as Obj;
    expect(secretVolume.secret.secretName).toBe(example.metadata.name);
    expect(baseKustomization.resources).not.toContain('secret.example.yaml');
    const mount = (validator.volumeMounts as Obj[]).find((m) => m.name === secretVolume.name)!;
    for (const e of validator.env as Obj[]) {
      expect(e.name.endsWith('_FILE')).toBe(true);
      const varName = e.name.slice(0, -'_FILE'.length);
      expect(known.has(varName)).toBe(true);
      expect(e.value).toBe(`${mount.mountPath}/${varName}`);
      expect(Object.keys(example.stringData)).toContain(varName);
    }
  });

  test('each overlay tells the validator its front (AUTH_FRONT) and trusts a charge id and a certificate thumbprint only behind the NGINX gateway', () => {
    expect(validatorConfig(rendered['nginx-gateway'])).toMatchObject({ AUTH_FRONT: 'nginx', QUOTA_TRUST_CHARGE_ID: 'true', AUTH_MTLS_TRUST_HEADER: 'true' });
    expect(validatorConfig(rendered['envoy-gateway'])).toMatchObject({ AUTH_FRONT: 'envoy', QUOTA_TRUST_CHARGE_ID: 'false', AUTH_MTLS_TRUST_HEADER: 'false' });
    expect(validatorConfig(rendered['ingress-nginx-legacy'])).toMatchObject({
      AUTH_FRONT: 'nginx',
      QUOTA_TRUST_CHARGE_ID: 'false',
      AUTH_MTLS_TRUST_HEADER: 'false',
    });
    // A config change renames the ConfigMap, and the Deployment follows (pods roll).
    for (const docs of Object.values(rendered)) {
      const name = one(docs, 'ConfigMap', 'tollgate-validator-config').metadata.name;
      expect(one(docs, 'Deployment', 'tollgate-validator').spec.template.spec.containers[0].envFrom[0].configMapRef.name).toBe(name);
    }
  });

  test('Service, PDB, HPA and NetworkPolicy select the validator pods; each overlay lets only its front in', () => {
    onlyKnown('Service.spec', service.spec, FIELDS.serviceSpec);
    expect(service.spec.type).toBe('ClusterIP');
    expect(matches(service.spec.selector)).toBe(true);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }]);

    const pdb = one(base, 'PodDisruptionBudget');
    onlyKnown('PDB.spec', pdb.spec, FIELDS.pdbSpec);
    expect(pdb.spec.minAvailable).toBe(1);
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);

    const hpa = one(base, 'HorizontalPodAutoscaler');
    onlyKnown('HPA.spec', hpa.spec, FIELDS.hpaSpec);
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(validator.resources.requests.cpu).toBeDefined();

    const peers = (docs: Obj[]) => {
      const np = one(docs, 'NetworkPolicy');
      onlyKnown('NetworkPolicy.spec', np.spec, FIELDS.networkPolicySpec);
      expect(matches(np.spec.podSelector.matchLabels)).toBe(true);
      expect(np.spec.ingress).toHaveLength(1);
      expect(np.spec.ingress[0].ports).toEqual([{ protocol: 'TCP', port: 3000 }]);
      return np.spec.ingress[0].from as Obj[];
    };
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    expect(peers(base)).toEqual([monitoring]);
    expect(peers(rendered['ingress-nginx-legacy'])).toEqual([
      monitoring,
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } },
    ]);
    expect(peers(rendered['envoy-gateway'])).toEqual([
      monitoring,
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' } } },
    ]);
    const gatewayPods = one(rendered['nginx-gateway'], 'Deployment', 'tollgate-gateway').spec.template.metadata.labels;
    expect(peers(rendered['nginx-gateway'])).toEqual([monitoring, { podSelector: { matchLabels: gatewayPods } }]);
  });

  test("ingress-nginx (legacy): external auth pointing at the validator Service's cluster DNS name", () => {
    const docs = rendered['ingress-nginx-legacy'];
    const kustomization = readFileSync(path.join(ROOT, 'deploy/k8s/overlays/ingress-nginx-legacy/kustomization.yaml'), 'utf8');
    expect(kustomization).toMatch(/^# LEGACY: ingress-nginx was retired/m);
    const ingress = one(docs, 'Ingress');
    onlyKnown('Ingress.spec', ingress.spec, FIELDS.ingressSpec);
    expect(ingress.metadata.namespace).toBe('wavestack');
    const a = ingress.metadata.annotations as Record<string, string>;
    expect(a['nginx.ingress.kubernetes.io/auth-url']).toBe(
      `http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${service.spec.ports[0].port}/api/auth/validate`,
    );
    // ingress-nginx overwrites only the listed names: a client's own X-User-Email reaches the app
    // unless it is listed. Every header the NGINX template sets from the validator's answer must be.
    const forwarded = a['nginx.ingress.kubernetes.io/auth-response-headers']!.split(',');
    expect(IDENTITY_HEADERS).toEqual(expect.arrayContaining(['X-User-Id', 'X-Scopes', 'X-Client-Id', 'X-User-Email', 'X-Ticks-Charged', 'X-Ticks-Remaining']));
    expect(forwarded).toEqual(IDENTITY_HEADERS);
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
    expect(byKind(docs, 'Ingress')).toHaveLength(1);
  });
});
