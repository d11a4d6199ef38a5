// Generates docs/REASONS.md from the reason table (validator/reasons.ts), so the list of codes can
// never drift from the code (test/unit/reasons.test.ts compares the committed file with this output).
//   node dist/scripts/gen-reasons-doc.js           print it
//   node dist/scripts/gen-reasons-doc.js --write   write it
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT as ROOT } from '../devkit/root';
import { GRANTED, REASON_CODES, REASONS, type ReasonDef } from '../validator/reasons';

export const REASONS_MD = 'docs/REASONS.md';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** `docs/REASONS.md`: what a code is carried in, then one row per code in table order. */
export function renderReasonsMd(): string {
  const out = [
    '# Reason codes',
    '',
    '<!-- Generated from validator/reasons.ts by scripts/gen-reasons-doc.ts ' +
      '(`npm run build && node dist/scripts/gen-reasons-doc.js --write`); do not edit by hand. -->',
    '',
    'Every refusal names one stable code. The validator sends it in the `X-Auth-Reason` header, as `reason` in its JSON body ' +
      'and its log line, and as the `reason` label of `tollgate_decisions_total`. The gateways (the NGINX template and the ' +
      'Caddyfile) pass it on in `X-Auth-Reason` and in their JSON body `{"error":"<code>"}`, and answer codes of their own for ' +
      "what they refuse before or instead of asking the validator (the gateway's access log has it as `auth_reason`).",
    '',
    `A granted decision's \`reason\` (log field and metric label) is \`${GRANTED}\`. ` +
      'Adding a code is fine; renaming one breaks the dashboards, the alerts and every client that switches on it.',
    '',
    "- **Status**: the HTTP status of every refusal with that code (the validator's 503s and its 429 carry `Retry-After`).",
    "- **RFC 6750 error**: the `error` attribute of the validator's `WWW-Authenticate` challenge (sent on 401 and 403; " +
      'RFC 6750 §3.1) and the `error` field of its JSON body. — means none: a 401 or 403 then carries a bare `Bearer realm="api"` challenge. ' +
      'A DPoP refusal carries a `DPoP` challenge instead (RFC 9449 §7.1: its `error` and `algs`), and no `error` field in the body.',
    '- **Emitted by**: `validator`, `gateway` (nginx/templates, nginx/njs, deploy/caddy), or `both`.',
    '',
    '| Code | Status | RFC 6750 error | Emitted by | Meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const code of REASON_CODES) {
    const r: ReasonDef = REASONS[code];
    const error = r.bearerError ? `\`${r.bearerError}\`` : r.dpopError ? `DPoP \`${r.dpopError}\`` : '—';
    out.push(`| \`${code}\` | ${r.status} | ${error} | ${r.emitter} | ${cell(r.doc)} |`);
  }
  return out.join('\n') + '\n';
}

if (require.main === module) {
  const text = renderReasonsMd();
  if (process.argv.includes('--write')) {
    fs.writeFileSync(path.join(ROOT, REASONS_MD), text);
    console.log(`wrote ${REASONS_MD}`);
  } else {
    process.stdout.write(text);
  }
}
