// redactUrl: the one password redaction for URLs in messages (the migrate CLI, the test database probe, the bench).
import { redactUrl } from '../../validator/observability/redact-url';

test.each([
  ['postgres://tollgate:s3cret@db.example:5432/tollgate', 'postgres://tollgate:***@db.example:5432/tollgate'],
  ['postgres://postgres@127.0.0.1:5432/test', 'postgres://postgres@127.0.0.1:5432/test'],
  ['postgres://u:p%40ss@h/d?sslmode=require', 'postgres://u:***@h/d?sslmode=require'],
])('%s → %s', (url, shown) => {
  expect(redactUrl(url)).toBe(shown);
});

test('a value that does not parse is not echoed: it may be a password pasted in the wrong place', () => {
  expect(redactUrl('s3cret-not-a-url')).toBe('(not a URL)');
});
