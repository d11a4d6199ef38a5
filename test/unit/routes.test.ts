// Route stage: canonical path reading, case-insensitive rule matching, rule parsing and the 403 insufficient_scope refusal.
import { AuthError, ConfigError } from '../../validator/errors';
import { PathRefusal, readPath } from '../../validator/lib/paths';
import { matchRoute, type RouteRule } from '../../validator/lib/routes';
import { parseRouteList, parseRouteRules } from '../../validator/config/routes';
import { splitScopes } from '../../validator/config/requirements';
import { authorizeRoute } from '../../validator/policy/rules';
import type { Principal } from '../../validator/token/claims';

/** readPath as a value: the canonical path, or undefined for a refusal. */
const read = (uri: string): string | undefined => {
  const r = readPath(uri);
  return r instanceof PathRefusal ? undefined : r;
};

describe('readPath (more cases: test/perimeter/path-corpus.ts)', () => {
  test.each([
    ['/api/tasks', '/api/tasks'],
    ['/', '/'],
    ['', undefined],
    ['api/tasks', undefined],
    ['*', undefined],
    // query dropped; a fragment is refused (never sent by a client)
    ['/api/tasks?max_ticks=3', '/api/tasks'],
    ['/api/tasks?next=/api/admin', '/api/tasks'],
    ['/api/tasks#frag', undefined],
    ['/api/tasks/?a=1', '/api/tasks/'],
    ['/?', '/'],
    // percent-decoding, letter case kept
    ['/api/%61dmin', '/api/admin'],
    ['/api/%41dmin', '/api/Admin'],
    ['/%61%70%69/admin', '/api/admin'],
    ['/api/caf%C3%A9', '/api/café'],
    ['/api/caf%c3%a9', '/api/café'],
    // dot segments are refused, not resolved: upstreams disagree on how (Tomcat cuts ;params first)
    ['/api/x/../admin', undefined],
    ['/api/./admin', undefined],
    ['/api/x/%2e%2e/admin', undefined],
    ['/api/x/%2E%2E/admin', undefined],
    ['/api/x/.%2e/admin', undefined],
    ['/../../api/admin', undefined],
    ['/api/tasks/..', undefined],
    ['/api/.hidden/..x', '/api/.hidden/..x'],
    // repeated slashes are refused, not merged; one trailing slash is fine
    ['//api///admin', undefined],
    ['/api//admin//', undefined],
    ['///', undefined],
    ['/api/admin/', '/api/admin/'],
    // an encoded slash is refused: some upstreams decode it to a separator before routing
    ['/api/a%2Fb', undefined],
    ['/api/a%2fb', undefined],
    ['/api/x%2F..%2Fadmin', undefined],
    // undecodable → refused
    ['/api/%zz', undefined],
    ['/api/%', undefined],
    ['/api/%4', undefined],
    ['/api/%C3', undefined],
    ['/api/%E0%A4%A', undefined],
    ['/api/%E0%A4', undefined],
    // control characters, raw or encoded → refused (in the query too)
    ['/api/%00admin', undefined],
    ['/api/a%0d%0aX-Injected:1', undefined],
    ['/api/a\tb', undefined],
    ['/api/a\u007fb', undefined],
    ['/api/%7F', undefined],
    ['/api/x?a=\r\n', undefined],
    // absolute-form request target: refused (NGINX passes only the path; other fronts may not)
    ['http://example.com/api/admin?x=1', undefined],
    ['HTTP://example.com', undefined],
  ])('%j → %j', (uri, expected) => {
    expect(read(uri)).toBe(expected);
  });

  test('a refusal says why', () => {
    expect((readPath('/api/x/../admin') as PathRefusal).why).toMatch(/dot segment/);
    expect((readPath('/api//admin') as PathRefusal).why).toMatch(/empty segment/);
    expect((readPath('/api/%E2%84%AAey') as PathRefusal).why).toMatch(/NFKC or case folding/);
  });

  test('an accepted printable-ASCII result is a fixed point: reading it again changes nothing', () => {
    for (const uri of ['/api/x/', '/api/%61dmin?x', '/api/tasks', '/api/a.b/c..d/...', "/api/!$&'()*+,=:@~"]) {
      const once = read(uri)!;
      expect(read(once)).toBe(once);
    }
  });
});

describe('matchRoute', () => {
  const routes: RouteRule[] = [
    { method: '*', path: '/', scopes: ['any'] },
    { method: 'GET', path: '/api/', scopes: ['api:read'] },
    { method: 'POST', path: '/api/', scopes: ['api:write'] },
    { method: '*', path: '/api/tasks', scopes: ['tasks'] },
    { method: 'POST', path: '/api/tasks', scopes: ['tasks:write'] },
    { method: 'DELETE', path: '/api/tasks/archive/', scopes: ['tasks:admin'] },
  ];
  const scopesFor = (method: string, path: string) => matchRoute(routes, method, path)?.scopes;

  test.each([
    // longest prefix wins
    ['GET', '/api/jobs', ['api:read']],
    ['GET', '/api/tasks', ['tasks']],
    ['GET', '/api/tasks/1', ['tasks']],
    ['DELETE', '/api/tasks/archive/7', ['tasks:admin']],
    ['DELETE', '/api/tasks/archive', ['tasks:admin']],
    ['DELETE', '/api/tasks/1', ['tasks']],
    // segment boundary: /api/tasks does not cover /api/tasksx
    ['GET', '/api/tasksx', ['api:read']],
    ['POST', '/api/tasksx', ['api:write']],
    ['DELETE', '/api/tasks/archivex', ['tasks']],
    // a "." after the prefix is a boundary: Rails runs the /api/tasks action for /api/tasks.json
    // (its optional format), as Spring MVC's suffix pattern matching did
    ['GET', '/api/tasks.json', ['tasks']],
    ['POST', '/api/tasks.json', ['tasks:write']],
    ['POST', '/api/tasks.', ['tasks:write']],
    ['DELETE', '/api/tasks/archive.xml', ['tasks:admin']],
    ['DELETE', '/api/tasks/archivex.xml', ['tasks']],
    ['GET', '/api/tasksx.json', ['api:read']],
    ['GET', '/api.json', ['api:read']],
    // a prefix with a trailing slash covers the bare path too
    ['GET', '/api', ['api:read']],
    ['GET', '/apix', ['any']],
    // exact method over `*` at the same length
    ['POST', '/api/tasks', ['tasks:write']],
    ['POST', '/api/tasks/9', ['tasks:write']],
    ['PUT', '/api/tasks', ['tasks']],
    // `/` matches everything
    ['PATCH', '/other', ['any']],
    ['GET', '/', ['any']],
  ])('%s %s → %j', (method, path, expected) => {
    expect(scopesFor(method, path)).toEqual(expected);
  });

  test('exact method wins over `*` whatever the order of the rules', () => {
    const a: RouteRule = { method: 'POST', path: '/api/', scopes: ['w'] };
    const b: RouteRule = { method: '*', path: '/api/', scopes: ['any'] };
    expect(matchRoute([a, b], 'POST', '/api/x')).toBe(a);
    expect(matchRoute([b, a], 'POST', '/api/x')).toBe(a);
    expect(matchRoute([b, a], 'GET', '/api/x')).toBe(b);
  });

  test('paths compare without ASCII letter case: Express routes /api/TASKS to the /api/tasks handler', () => {
    expect(scopesFor('GET', '/API/TASKS')).toEqual(['tasks']);
    expect(scopesFor('POST', '/api/Tasks/9')).toEqual(['tasks:write']);
    expect(scopesFor('DELETE', '/Api/Tasks/ARCHIVE')).toEqual(['tasks:admin']);
    expect(scopesFor('GET', '/API/TASKSX')).toEqual(['api:read']);
    // ASCII only: a non-ASCII letter is never folded onto an ASCII one (readPath refuses those anyway)
    expect(scopesFor('GET', '/api/t\u0130sks')).toEqual(['api:read']);
  });

  test('no rule → undefined; methods are compared as given (the pipeline upper-cases)', () => {
    expect(matchRoute([], 'GET', '/api')).toBeUndefined();
    expect(matchRoute([{ method: 'GET', path: '/api/' }], 'POST', '/api/x')).toBeUndefined();
    expect(matchRoute([{ method: 'GET', path: '/api/' }], 'GET', '/other')).toBeUndefined();
  });
});

describe('parseRouteRules', () => {
  test('object shape, scopes as array or space/comma string', () => {
    expect(parseRouteRules('R', '{"POST /api/": ["api:write"], "get /api/": "api:read  api:list", "* /admin": "admin,ops", "DELETE /x": []}')).toEqual([
      { method: 'POST', path: '/api/', scopes: ['api:write'] },
      { method: 'GET', path: '/api/', scopes: ['api:read', 'api:list'] },
      { method: '*', path: '/admin', scopes: ['admin', 'ops'] },
      { method: 'DELETE', path: '/x', scopes: [] },
    ]);
  });

  test('array shape; scopes optional, as array or string; array items are split too', () => {
    expect(
      parseRouteRules(
        'R',
        JSON.stringify([
          { method: 'post', path: '/api/', scopes: ['api:write'] },
          { method: 'GET', path: '/api/', scopes: 'api:read' },
          { method: '*', path: '/health' },
          { method: 'PUT', path: '/a', scopes: ['x y', 'z'] },
        ]),
      ),
    ).toEqual([
      { method: 'POST', path: '/api/', scopes: ['api:write'] },
      { method: 'GET', path: '/api/', scopes: ['api:read'] },
      { method: '*', path: '/health', scopes: [] },
      { method: 'PUT', path: '/a', scopes: ['x', 'y', 'z'] },
    ]);
  });

  test('rule paths are stored ASCII lower-cased: matching ignores letter case without a per-request copy of the rules', () => {
    expect(parseRouteRules('R', '{"* /API/Admin/": ["admin"]}')).toEqual([{ method: '*', path: '/api/admin/', scopes: ['admin'] }]);
    expect(parseRouteList('Q', 'POST /api/Tasks')).toEqual([{ method: 'POST', path: '/api/tasks' }]);
  });

  test('two rules that differ only in letter case are one route: refused like any duplicate', () => {
    expect(() => parseRouteRules('AUTH_ROUTE_RULES', '{"GET /api/admin": ["a"], "GET /api/ADMIN": ["b"]}')).toThrow(/two rules for "GET \/api\/admin"/);
  });

  test('empty rules', () => {
    expect(parseRouteRules('R', '[]')).toEqual([]);
    expect(parseRouteRules('R', '{}')).toEqual([]);
  });

  test.each([
    ['not json', /not valid JSON/],
    ['42', /JSON object or array/],
    ['true', /JSON object or array/],
    ['{"/api/": ["a"]}', /"METHOD \/path"/],
    // the object form names its keys: a misspelt one would leave the route open
    ['{"GET /api/": {"a": 1}}', /GET \/api\/: unknown key "a"/],
    ['[{"method": 1, "path": "/"}]', /rule #0/],
    ['[{"method": "GET", "path": "/"}, "GET /"]', /rule #1/],
    ['[{"method": "G ET", "path": "/"}]', /bad method/],
    ['[{"method": "GET", "path": "api"}]', /must start with \//],
    // a rule path readPath refuses or reads differently could never match
    // a scope no token can carry (quote, backslash, non-ASCII) would refuse everyone on that route
    ['{"GET /api/": ["caf\u00e9"]}', /not an RFC 6749 scope-token/],
    ['{"GET /api/": ["a\\\\b"]}', /not an RFC 6749 scope-token/],
    ['[{"method": "GET", "path": "/", "scopes": ["say\\"hi"]}]', /not an RFC 6749 scope-token/],
    ['{"GET /api//admin": []}', /not in normal form: requests with an empty segment/],
    ['{"GET /api/x/../admin": []}', /not in normal form: requests with a dot segment/],
    ['{"GET /api/admin;x": []}', /not in normal form: requests with a ; path parameter/],
    ['{"GET /api/%61dmin": []}', /not in normal form; write "\/api\/admin"/],
    ['{"GET /api/admin?x=1": []}', /not in normal form; write "\/api\/admin"/],
    ['{"GET /api/caf%C3%A9": []}', /not in normal form \(write printable ASCII/],
  ])('%s → ConfigError naming the variable', (raw, message) => {
    const e = (() => {
      try {
        parseRouteRules('AUTH_ROUTE_RULES', raw);
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.variable).toBe('AUTH_ROUTE_RULES');
    expect(e.message).toMatch(message);
  });
});

describe('parseRouteList and splitScopes', () => {
  test('parseRouteList', () => {
    expect(parseRouteList('Q', 'POST /api/tasks,  put\t/api/jobs ,')).toEqual([
      { method: 'POST', path: '/api/tasks' },
      { method: 'PUT', path: '/api/jobs' },
    ]);
    expect(parseRouteList('Q', '')).toEqual([]);
    expect(() => parseRouteList('QUOTA_ROUTES', '/api/tasks')).toThrow(/^QUOTA_ROUTES: entry "\/api\/tasks" must be "METHOD \/path"/);
  });

  test('splitScopes', () => {
    expect(splitScopes('a b,c ,, d\te\nf')).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(splitScopes('')).toEqual([]);
    expect(splitScopes(' , ')).toEqual([]);
  });
});

describe('authorizeRoute', () => {
  const principal = (scopes: string[]): Principal => ({
    sub: 'u1',
    userId: 'u1',
    scopes,
    roles: [],
    claims: {},
    isPerson: false,
    supabase: false,
    issuer: 'https://idp',
  });
  const rules = parseRouteRules(
    'AUTH_ROUTE_RULES',
    '{"POST /api/": ["api:write"], "GET /api/": "api:read", "DELETE /api/admin": ["api:write", "admin"], "GET /api/public": []}',
  );

  test('passes when the most specific rule is satisfied, or no rule or an empty rule matches', () => {
    expect(() => authorizeRoute(rules, 'POST', '/api/tasks', principal(['api:write']))).not.toThrow();
    expect(() => authorizeRoute(rules, 'GET', '/api/tasks', principal(['api:read', 'other']))).not.toThrow();
    expect(() => authorizeRoute(rules, 'GET', '/api/public/x', principal([]))).not.toThrow();
    expect(() => authorizeRoute(rules, 'PUT', '/api/tasks', principal([]))).not.toThrow();
    expect(() => authorizeRoute([], 'POST', '/api/tasks', principal([]))).not.toThrow();
    expect(() => authorizeRoute(rules, 'DELETE', '/api/admin', principal(['admin', 'api:write']))).not.toThrow();
  });

  function refusal(method: string, path: string, scopes: string[]): AuthError {
    try {
      authorizeRoute(rules, method, path, principal(scopes));
    } catch (e) {
      expect(e).toBeInstanceOf(AuthError);
      return e as AuthError;
    }
    throw new Error('authorized');
  }

  test('missing scope → 403 insufficient_scope with the scope attribute', () => {
    const e = refusal('POST', '/api/tasks', ['api:read']);
    expect(e.status).toBe(403);
    expect(e.code).toBe('scope_missing');
    expect(e.bearerError).toBe('insufficient_scope');
    expect(e.scope).toEqual(['api:write']);
    expect(e.wwwAuthenticate).toBe(
      'Bearer realm="api", error="insufficient_scope", error_description="POST /api/ requires scope api:write", scope="api:write"',
    );
  });

  test('every required scope is needed; scope lists all of them, space-separated', () => {
    const e = refusal('DELETE', '/api/admin/users', ['api:write']);
    expect(e.message).toContain('requires scope admin');
    expect(e.wwwAuthenticate).toMatch(/, scope="api:write admin"$/);
  });

  test('scopes compare exactly (no prefix or case folding)', () => {
    expect(refusal('POST', '/api/x', ['api:writer']).code).toBe('scope_missing');
    expect(refusal('POST', '/api/x', ['API:WRITE']).code).toBe('scope_missing');
    expect(refusal('POST', '/api/x', ['api']).code).toBe('scope_missing');
  });

  test('HEAD needs what GET needs: upstreams (Express, Go, NGINX) run the GET handler for a HEAD', () => {
    expect(refusal('HEAD', '/api/tasks', []).scope).toEqual(['api:read']);
    expect(() => authorizeRoute(rules, 'HEAD', '/api/tasks', principal(['api:read']))).not.toThrow();
    expect(() => authorizeRoute(rules, 'HEAD', '/api/public/x', principal([]))).not.toThrow();
    const withHead = parseRouteRules('AUTH_ROUTE_RULES', '{"GET /api/": ["api:read"], "HEAD /api/": ["api:head"]}');
    expect(() => authorizeRoute(withHead, 'HEAD', '/api/x', principal(['api:head']))).toThrow(AuthError);
    expect(() => authorizeRoute(withHead, 'HEAD', '/api/x', principal(['api:head', 'api:read']))).not.toThrow();
  });

  test('a canonical path cannot dodge a rule: encoded letters and other letter cases hit the admin rule', () => {
    for (const uri of ['/api/admin', '/api/%61dmin', '/api/ADMIN', '/api/Admin/users', '/api/%41DMIN?x', '/API/admin/']) {
      expect(refusal('DELETE', read(uri)!, ['api:write']).scope).toEqual(['api:write', 'admin']);
    }
  });

  test('spellings that upstreams could read as another path never reach the rules: readPath refuses them', () => {
    for (const uri of ['/api/x/../admin', '/api/x/..;/admin', '//api//admin', 'http://h/api/admin?x', '/api/admin;x=1', '/api/x%2F..%2Fadmin']) {
      expect(readPath(uri)).toBeInstanceOf(PathRefusal);
    }
  });
});

describe('path parameters', () => {
  test('`;` parameters are refused: Tomcat and Jetty cut them from each segment, Express and Python keep them', () => {
    expect(readPath('/api/admin;x=1')).toBeInstanceOf(PathRefusal);
    expect(readPath('/api/admin;jsessionid=abc/users')).toBeInstanceOf(PathRefusal);
    expect(readPath('/api/;x/admin')).toBeInstanceOf(PathRefusal);
    expect(readPath('/api/a%3Bb')).toBeInstanceOf(PathRefusal);
  });
});
