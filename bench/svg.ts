// docs/perf.svg: a hand-drawn horizontal bar chart of req/s per case (ratio to the group's
// baseline beside each bar, p99 on the right), one panel per group.
import type { CaseResult, Machine } from './report';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function colour(id: string): string {
  if (id === 'express-bare' || id === 'nginx-noauth') return '#8c8c8c';
  if (id === 'node-raw') return '#b0b0b0';
  if (id.startsWith('auth0') || id.startsWith('expressjwt')) return '#e08a3c';
  if (id.startsWith('nginx')) return '#3b9a5a';
  return '#2f6fb3';
}

export function chart(results: CaseResult[], m: Machine, when: string): string {
  const W = 1080;
  const labelW = 450; // the longest case label is ~52 characters at 13 px
  const barW = 400;
  const rowH = 24;
  const out: string[] = [];
  let y = 58;
  const panels: Array<['node' | 'gateway', string]> = [
    ['node', 'Decisions: GET /api/auth/validate straight to the process (autocannon, 50 connections)'],
    ['gateway', 'Through NGINX (HTTPS, keep-alive): same upstream with and without auth_request'],
  ];
  for (const [group, title] of panels) {
    const rows = results.filter((r) => r.group === group);
    if (rows.length === 0) continue;
    const max = Math.max(...rows.filter((r) => !r.skip).map((r) => r.rps), 1);
    out.push(`<text x="16" y="${y}" class="h">${esc(title)}</text>`);
    y += 14;
    for (const r of rows) {
      const ty = y + rowH * 0.68;
      out.push(`<text x="${labelW - 8}" y="${ty}" text-anchor="end">${esc(r.label)}</text>`);
      if (r.skip) {
        out.push(`<text x="${labelW + 4}" y="${ty}" class="dim">skipped: ${esc(r.skip.slice(0, 80))}</text>`);
      } else {
        const w = Math.max(1, (r.rps / max) * barW);
        out.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${colour(r.id)}"/>`);
        const ratio = r.ratio ? ` (${r.ratio.rps.toFixed(2)}×)` : '';
        out.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${ty}">${Math.round(r.rps).toLocaleString('en-US')}${ratio}</text>`);
        out.push(`<text x="${W - 16}" y="${ty}" text-anchor="end" class="dim">p99 ${r.p99.toFixed(2)} ms</text>`);
      }
      y += rowH;
    }
    y += 24;
  }
  const sub = `${m.nproc} × ${m.cpu}, Node ${m.node}, ${when}; req/s, ratio to the grey baseline of the same run`;
  const head = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="13">`,
    `<style>.h{font-weight:600;font-size:14px}.t{font-weight:700;font-size:17px}.dim{fill:#666}text{fill:#222}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" class="t">tollgate: requests per second (more is better)</text>`,
    `<text x="16" y="42" class="dim">${esc(sub)}</text>`,
  ];
  return [...head, ...out, '</svg>', ''].join('\n');
}
