// The template renderer and variable checks of devkit/nginx.ts (no NGINX needed).
import fs from 'node:fs';
import path from 'node:path';
import { publicPathsRegex, renderTemplate, resolveVars, upstreamServers, GATEWAY_DEFAULTS } from '../../devkit/nginx';
import { REPO_ROOT } from '../../devkit/root';

const TEMPLATES = path.join(REPO_ROOT, 'nginx', 'templates');

describe('renderTemplate (envsubst semantics)', () => {
  test('replaces $NAME and ${NAME} of defined variables only; NGINX variables untouched', () => {
    const out = renderTemplate('listen ${PORT}; set $x $host; root $ROOT; keep ${PORT}x', { PORT: '8443', ROOT: '/srv' });
    expect(out).toBe('listen 8443; set $x $host; root /srv; keep 8443x');
  });

  test('a ${NAME} left undefined is an error naming it and the file', () => {
    expect(() => renderTemplate('a ${ONE} b ${TWO} ${ONE}', {}, 'x.conf.template')).toThrow('x.conf.template: undefined variable(s) ${ONE}, ${TWO}');
  });

  test('an empty value is defined', () => {
    expect(renderTemplate('",${CORS_ORIGINS},"', { CORS_ORIGINS: '' })).toBe('",,"');
  });

  test('every template renders with the defaults and leaves no ${...}', () => {
    const vars = resolveVars({ env: {} });
    const walk = (d: string): string[] =>
      fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    for (const f of walk(TEMPLATES)) {
      const out = renderTemplate(fs.readFileSync(f, 'utf8'), vars, f);
      expect(out).not.toMatch(/\$\{/);
    }
  });
});

describe('resolveVars', () => {
  test('defaults ← env ← options', () => {
    const v = resolveVars({ env: { GATEWAY_HTTPS_PORT: '9443', CORS_ORIGINS: 'https://a.example' }, validators: ['10.0.0.1:3000', '10.0.0.2:3000'] });
    expect(v.GATEWAY_HTTPS_PORT).toBe('9443');
    expect(v.GATEWAY_REDIRECT_HTTPS_PORT).toBe('9443');
    expect(v.CORS_ORIGINS).toBe('https://a.example');
    expect(v.GATEWAY_VALIDATOR_SERVERS).toBe('server 10.0.0.1:3000 max_fails=1 fail_timeout=2s; server 10.0.0.2:3000 max_fails=1 fail_timeout=2s;');
    expect(v.GATEWAY_RATE_PER_IP).toBe(GATEWAY_DEFAULTS.GATEWAY_RATE_PER_IP);
  });

  test.each([
    [{ CORS_ORIGINS: '*' }, /CORS_ORIGINS=.*"\*" is not an exact origin/],
    [{ CORS_ORIGINS: 'https://a.example, https://b.example' }, /CORS_ORIGINS/],
    [{ CORS_ORIGINS: 'https://a.example/path' }, /CORS_ORIGINS/],
    [{ GATEWAY_RATE_PER_IP: '100/m' }, /GATEWAY_RATE_PER_IP="100\/m": must look like 100r\/m/],
    [{ GATEWAY_HTTPS_PORT: 'https' }, /GATEWAY_HTTPS_PORT/],
    [{ GATEWAY_FILES_ROOT: 'files/' }, /GATEWAY_FILES_ROOT=.*absolute/],
    [{ GATEWAY_VALIDATOR_SERVERS: '127.0.0.1:3000' }, /GATEWAY_VALIDATOR_SERVERS.*server host:port/],
    // the HTTP→HTTPS redirect goes to the first server name: it must be a plain host name
    [{ GATEWAY_SERVER_NAME: '_' }, /GATEWAY_SERVER_NAME="_": must start with the plain public host name/],
    [{ GATEWAY_SERVER_NAME: '*.example.com api.example.com' }, /GATEWAY_SERVER_NAME/],
    [{ GATEWAY_SERVER_NAME: '~^api\\.' }, /GATEWAY_SERVER_NAME/],
  ])('refuses %j', (env, message) => {
    expect(() => resolveVars({ env })).toThrow(message);
  });

  test('GATEWAY_SERVER_NAME may be a list whose first name is a plain host', () => {
    expect(resolveVars({ env: { GATEWAY_SERVER_NAME: 'api.example.com *.example.com' } }).GATEWAY_SERVER_NAME).toBe('api.example.com *.example.com');
  });

  test('GATEWAY_FILES_ROOT gets the trailing slash alias needs', () => {
    expect(resolveVars({ env: { GATEWAY_FILES_ROOT: '/srv/files' } }).GATEWAY_FILES_ROOT).toBe('/srv/files/');
  });
});

describe('list helpers', () => {
  test('upstreamServers', () => {
    expect(upstreamServers(['a:1'])).toBe('server a:1;');
  });

  test('publicPathsRegex escapes literals and turns a trailing * into a prefix', () => {
    const re = new RegExp(`^(?:${publicPathsRegex(['/api/docs', '/api/public/*', '/api/v1.0/ping'])})$`);
    expect(['/api/docs', '/api/public/x/y', '/api/v1.0/ping'].every((p) => re.test(p))).toBe(true);
    expect(['/api/docsx', '/api/v1x0/ping', '/api/publicx'].some((p) => re.test(p))).toBe(false);
  });
});
