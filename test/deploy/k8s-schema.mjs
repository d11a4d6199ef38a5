// Schema check of rendered Kubernetes objects with the kubernetes-models validators (generated from
// the Kubernetes OpenAPI spec and the Gateway API CRDs: types, required fields, enums, formats).
// ESM-only packages, so the test runs this file in a child Node: JSON array of objects on stdin,
// one result per object on stdout. Kinds with no published model (Envoy Gateway's) come back
// `checked: false` for the test's own hand-written schema.
const MODULES = {
  'gateway.networking.k8s.io': (v) => `@kubernetes-models/gateway-api/gateway.networking.k8s.io/${v}`,
};

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const obj of JSON.parse(input)) {
  const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
  const specifier =
    group === ''
      ? `kubernetes-models/${version}`
      : (MODULES[group]?.(version) ?? (group.endsWith('.k8s.io') || !group.includes('.') ? `kubernetes-models/${obj.apiVersion}` : null));
  const result = { kind: obj.kind, name: obj.metadata?.name, checked: false, error: null };
  if (specifier) {
    const Model = (await import(specifier))[obj.kind];
    if (!Model) result.error = `no model ${obj.kind} in ${specifier}`;
    else {
      result.checked = true;
      try {
        new Model(obj).validate();
      } catch (e) {
        result.error = String(e?.message ?? e);
      }
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
