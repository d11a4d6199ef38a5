// Route stage: path normalisation, rule matching, rule parsing and the 403 insufficient_scope refusal.
import { AuthError, ConfigError } from '../../validator/errors';
import { matchRoute, normalisePath, parseRouteList, parseRouteRules, splitScopes, type RouteRule } from '../../validator/policy/routes';
import { authorizeRoute } from '../../validator/policy/scopes';
import type { Principal } from '../../validator/token/claims';

describe('normalisePath', () => {
  test.each([
    ['/api/tasks', '/api/tasks'],
    ['/', '/'],
    ['', undefined],
    ['api/tasks', undefined],
    ['*', undefined],
    // query and fragment dropped
    ['/api/tasks?max_ticks=3', '/api/tasks'],
    ['/api/tasks?next=/api/admin', '/api/tasks'],
    ['/api/tasks#frag', '/api/tasks'],
    ['/api/tasks/?a=1', '/api/tasks/'],
    // percent-decoding
    ['/api/%61dmin', '/api/admin'],
    ['/api/%41dmin', '/api/Admin'],
    ['/%61%70%69/admin', '/api/admin'],
    ['/api/caf%C3%A9', '/api/café'],
    // dot segments (RFC 3986 §5.2.4), also encoded
    ['/api/x/../admin', '/api/admin'],
    ['/api/./admin', '/api/admin'],
    ['/api/x/%2e%2e/admin', '/api/admin'],
    ['/api/x/%2E%2E/admin', '/api/admin'],
    ['/api/x/.%2e/admin', '/api/admin'],
    ['/../../api/admin', '/api/admin'],
    ['/api/tasks/..', '/api'],
    // repeated slashes collapsed
    ['//api///admin', '/api/admin'],
    ['/api//admin//', '/api/admin/'],
    ['///', '/'],
    // an encoded slash stays encoded: data inside a segment, not a separator
    ['/api/a%2Fb', '/api/a%2Fb'],
    ['/api/a%2fb', '/api/a%2Fb'],
    ['/api/x%2F..%2Fadmin', '/api/x%2F..%2Fadmin'],
    // undecodable → undefined (the caller refuses)
    ['/api/%zz', undefined],
    ['/api/%', undefined],
    ['/api/%C3', undefined],
    ['/api/%E0%A4%A', undefined],
    // control characters, raw or encoded → undefined
    ['/api/%00admin', undefined],
    ['/api/a%0d%0aX-Injected:1', undefined],
    ['/api/a\tb', undefined],
    ['/api/a\u007fb', undefined],
    ['/api/%7F', undefined],
    // absolute-form request target (RFC 9112 §3.2.2)
    ['http://example.com/api/admin?x=1', '/api/admin'],
    ['https://example.com:8443//api/../api/%61dmin', '/api/admin'],
    ['HTTP://example.com', '/'],
  ])('%j → %j', (uri, expected) => {
    expect(normalisePath(uri)).toBe(expected);
  });

  test('the result is a fixed point: normalising twice changes nothing', () => {
    for (const uri of ['/api/x/../admin', '//api///admin/', '/api/a%2Fb', '/api/%61dmin?x', '/api/tasks/..']) {
      const once = normalisePath(uri)!;
      expect(normalisePath(once)).toBe(once);
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
      parseRouteRules('R', JSON.stringify([
        { method: 'post', path: '/api/', scopes: ['api:write'] },
        { method: 'GET', path: '/api/', scopes: 'api:read' },
        { method: '*', path: '/health' },
        { method: 'PUT', path: '/a', scopes: ['x y', 'z'] },
      ])),
    ).toEqual([
      { method: 'POST', path: '/api/', scopes: ['api:write'] },
      { method: 'GET', path: '/api/', scopes: ['api:read'] },
      { method: '*', path: '/health', scopes: [] },
      { method: 'PUT', path: '/a', scopes: ['x', 'y', 'z'] },
    ]);
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
    ['{"GET /api/": {"a": 1}}', /string or an array of strings/],
    ['[{"method": 1, "path": "/"}]', /rule #0/],
    ['[{"method": "GET", "path": "/"}, "GET /"]', /rule #1/],
    ['[{"method": "G ET", "path": "/"}]', /bad method/],
    ['[{"method": "GET", "path": "api"}]', /must start with \//],
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
  const principal = (scopes: string[]): Principal => ({ sub: 'u1', scopes, isPerson: false, supabase: false, issuer: 'https://idp' });
  const rules = parseRouteRules('AUTH_ROUTE_RULES', '{"POST /api/": ["api:write"], "GET /api/": "api:read", "DELETE /api/admin": ["api:write", "admin"], "GET /api/public": []}');

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
    expect(e.wwwAuthenticate).toBe('Bearer realm="api", error="insufficient_scope", error_description="POST /api/ requires scope api:write", scope="api:write"');
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

  test('a normalised path cannot dodge a rule: /api/x/../admin and /api/%61dmin hit the admin rule', () => {
    for (const uri of ['/api/x/../admin', '/api/%61dmin', '//api//admin', 'http://h/api/admin?x']) {
      expect(refusal('DELETE', normalisePath(uri)!, ['api:write']).scope).toEqual(['api:write', 'admin']);
    }
  });
});

describe('path parameters', () => {
  test('`;` parameters are cut from each segment before matching (Tomcat/Spring routing)', () => {
    expect(normalisePath('/api/admin;x=1')).toBe('/api/admin');
    expect(normalisePath('/api/admin;jsessionid=abc/users')).toBe('/api/admin/users');
    expect(normalisePath('/api/;x/admin')).toBe('/api/admin');
  });
});
