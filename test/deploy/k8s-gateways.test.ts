// The two gateway overlays of deploy/k8s, as `kubectl kustomize` renders them: tollgate's NGINX
// gateway (official image + nginx/ as ConfigMaps) and the Gateway API with Envoy Gateway's extAuth.
// Each must hand the validator what its AUTH_FRONT expects and strip what docs/GATEWAY.md lists.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT as ROOT } from '../../devkit/root';
import { KUBECTL, one, render, type Obj } from './k8s-render';

const njs = (require('../../nginx/njs/tollgate.js') as { default: { STRIPPED_NAMES: string[] } }).default;
const IDENTITY = ['x-user-id', 'x-scopes', 'x-client-id', 'x-user-email', 'x-user-roles', 'x-ticks-charged', 'x-ticks-remaining', 'x-token-binding'];
const describeRendered = KUBECTL ? describe : describe.skip;

describeRendered('deploy/k8s/overlays/nginx-gateway', () => {
  const docs = render('overlays/nginx-gateway');
  const gateway = one(docs, 'Deployment', 'tollgate-gateway');
  const pod = gateway.spec.template.spec as Obj;
  const nginx = (pod.containers as Obj[])[0]!;
  const env = one(docs, 'ConfigMap', 'tollgate-gateway-env').data as Record<string, string>;
  const volume = (name: string) => (pod.volumes as Obj[]).find((v) => v.name === name)!;
  const mountOf = (name: string) => (nginx.volumeMounts as Obj[]).find((m) => m.name === name)!;
  const compose = parse(readFileSync(path.join(ROOT, 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, Obj> };

  test('the official nginx image, the same tag as compose, unprivileged and read-only', () => {
    expect(nginx.image).toBe(compose.services.gateway!.image);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 101, seccompProfile: { type: 'RuntimeDefault' } });
    expect(nginx.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    // Non-root cannot bind 80/443: the pod listens high, the Service maps the public ports.
    expect(nginx.ports).toEqual([
      { name: 'http', containerPort: Number(env.GATEWAY_HTTP_PORT) },
      { name: 'https', containerPort: Number(env.GATEWAY_HTTPS_PORT) },
    ]);
    const svc = one(docs, 'Service', 'tollgate-gateway');
    expect(svc.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local' });
    expect(svc.spec.ports.map((p: Obj) => [p.port, p.targetPort])).toEqual([
      [80, 'http'],
      [443, 'https'],
    ]);
    expect(nginx.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    // Writable paths are emptyDirs: conf.d (rendered templates), logs (pid), temp (nginx.conf's prefix paths).
    for (const [name, at] of [
      ['conf-d', '/etc/nginx/conf.d'],
      ['logs', '/etc/nginx/logs'],
      ['temp', '/etc/nginx/temp'],
      ['cache', '/var/cache/nginx'],
    ]) {
      expect(mountOf(name!).mountPath).toBe(at);
      expect(volume(name!).emptyDir).toBeDefined();
    }
  });

  test('every file of nginx/templates is mounted at its own path, and nginx.conf and the njs code beside it', () => {
    const templatesDir = path.join(ROOT, 'nginx/templates');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        if (e.isDirectory()) walk(path.join(dir, e.name));
        else if (e.name.endsWith('.template')) files.push(path.relative(templatesDir, path.join(dir, e.name)));
      }
    };
    walk(templatesDir);
    const cm = one(docs, 'ConfigMap', 'tollgate-gateway-templates');
    const items = volume('templates').configMap.items as Array<{ key: string; path: string }>;
    expect(volume('templates').configMap.name).toBe(cm.metadata.name);
    expect(items.map((i) => i.path).sort()).toEqual(files.sort());
    for (const item of items) expect(cm.data[item.key]).toBe(readFileSync(path.join(templatesDir, item.path), 'utf8'));
    expect(mountOf('templates').mountPath).toBe('/etc/nginx/templates');
    expect(one(docs, 'ConfigMap', 'tollgate-gateway-conf').data['nginx.conf']).toBe(readFileSync(path.join(ROOT, 'nginx/nginx.conf'), 'utf8'));
    expect(mountOf('nginx-conf')).toMatchObject({ mountPath: '/etc/nginx/nginx.conf', subPath: 'nginx.conf' });
    expect(one(docs, 'ConfigMap', 'tollgate-gateway-njs').data['tollgate.js']).toBe(readFileSync(path.join(ROOT, 'nginx/njs/tollgate.js'), 'utf8'));
    expect(mountOf('njs').mountPath).toBe('/etc/nginx/njs');
  });

  test('every ${VAR} the templates use is set and passes NGINX_ENVSUBST_FILTER; the upstreams are Service names', () => {
    const used = new Set<string>();
    for (const text of Object.values(one(docs, 'ConfigMap', 'tollgate-gateway-templates').data as Record<string, string>)) {
      for (const m of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(10);
    const filter = new RegExp(env.NGINX_ENVSUBST_FILTER!);
    for (const v of used) expect({ variable: v, set: v in env, passesFilter: filter.test(v) }).toEqual({ variable: v, set: true, passesFilter: true });
    expect(nginx.envFrom).toEqual([{ configMapRef: { name: one(docs, 'ConfigMap', 'tollgate-gateway-env').metadata.name } }]);
    const validatorSvc = one(docs, 'Service', 'tollgate-validator');
    expect(env.GATEWAY_VALIDATOR_SERVERS).toBe(
      `server ${validatorSvc.metadata.name}.${validatorSvc.metadata.namespace}.svc.cluster.local:${validatorSvc.spec.ports[0].port} max_fails=1 fail_timeout=2s;`,
    );
    expect(env.GATEWAY_TLS_CERT!.startsWith(`${mountOf('certs').mountPath}/`)).toBe(true);
    expect(volume('certs').secret.secretName).toBe('tollgate-gateway-tls');
  });
});

describeRendered('deploy/k8s/overlays/envoy-gateway', () => {
  const docs = render('overlays/envoy-gateway');
  const policy = one(docs, 'SecurityPolicy');
  const edge = one(docs, 'ClientTrafficPolicy');
  const route = one(docs, 'HTTPRoute', 'wavestack-api');
  const validatorSvc = one(docs, 'Service', 'tollgate-validator');

  test("the ext auth call is the validator's envoy contract: path prefix /api/auth/validate, fail closed", () => {
    expect(policy.spec.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: route.metadata.name }]);
    expect(policy.metadata.namespace).toBe(route.metadata.namespace);
    const { http } = policy.spec.extAuth;
    expect(http.path).toBe('/api/auth/validate');
    expect(http.backendRefs).toEqual([{ name: validatorSvc.metadata.name, namespace: validatorSvc.metadata.namespace, port: validatorSvc.spec.ports[0].port }]);
    expect(policy.spec.extAuth.failOpen).toBe(false);
    expect(http.headersToBackend).toEqual(IDENTITY);
    // Only what the validator reads (a DPoP proof included): no cookies, no client charge id.
    expect(policy.spec.extAuth.headersToExtAuth).toEqual(['authorization', 'dpop', 'x-max-ticks', 'x-request-id']);
    // The cross-namespace Service reference is granted in the validator's namespace.
    const grant = one(docs, 'ReferenceGrant');
    expect(grant.metadata.namespace).toBe(validatorSvc.metadata.namespace);
    expect(grant.spec.from).toEqual([{ group: 'gateway.envoyproxy.io', kind: 'SecurityPolicy', namespace: policy.metadata.namespace }]);
    expect(grant.spec.to).toEqual([{ group: '', kind: 'Service', name: validatorSvc.metadata.name }]);
  });

  test('before any filter: the gateway-owned headers of docs/GATEWAY.md are removed (X-Max-Ticks only after the check)', () => {
    expect(edge.spec.targetRefs).toEqual([{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: one(docs, 'Gateway').metadata.name }]);
    const removed = edge.spec.headers.earlyRequestHeaders.remove as string[];
    expect([...removed].sort()).toEqual(njs.STRIPPED_NAMES.filter((n) => n !== 'x-max-ticks').sort());
    for (const h of IDENTITY) expect(removed).toContain(h);
    expect(edge.spec.headers.withUnderscoresAction).toBe('DropHeader');
    expect(edge.spec.path.escapedSlashesAction).toBe('RejectRequest');
    const modifier = (route.spec.rules[0].filters as Obj[]).find((f) => f.type === 'RequestHeaderModifier')!;
    expect(modifier.requestHeaderModifier.remove).toEqual(['X-Max-Ticks']);
  });

  test('HTTPS only on the fixed host name; the public health path bypasses ext auth; HTTP redirects', () => {
    const gw = one(docs, 'Gateway');
    const https = (gw.spec.listeners as Obj[]).find((l) => l.protocol === 'HTTPS')!;
    expect(route.spec.parentRefs).toEqual([{ name: gw.metadata.name, sectionName: https.name }]);
    expect(route.spec.hostnames).toEqual([https.hostname]);
    const pub = one(docs, 'HTTPRoute', 'wavestack-public');
    expect(pub.spec.rules[0].matches).toEqual([{ path: { type: 'Exact', value: '/api/health' } }]);
    const redirect = one(docs, 'HTTPRoute', 'wavestack-redirect');
    expect(redirect.spec.rules[0].filters[0].requestRedirect).toEqual({ scheme: 'https', statusCode: 301 });
  });
});
