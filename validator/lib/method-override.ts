// HTTP method override parameters in the query. Many frameworks let a request parameter replace the
// method after routing decisions were made elsewhere: Spring's HiddenHttpMethodFilter and Gorilla's
// HTTPMethodOverrideHandler read `_method` from the query as well as the form, Symfony reads it from
// the query when the body has none, Express's method-override does with methodOverride('_method'),
// and ASP.NET MVC reads `X-HTTP-Method-Override` from the query. Judged as POST, run as DELETE: the
// validator cannot tell which method the upstream will run, so such a request is refused. (A form
// body's `_method` never reaches the validator: docs/GATEWAY.md says what upstreams must turn off.)

const PCT = /%([0-9A-Fa-f]{2})/g;
const pctByte = (_: string, hex: string): string => String.fromCharCode(Number.parseInt(hex, 16));
// the characters form decoders (and PHP) turn into "_" or drop, collapsed into one "_"
const SEPARATORS = /[\s+.\-[\]_]+/g;
const OVERRIDE_NAME = /^(?:_method|_?x_(?:http_)?method(?:_override)?|_?(?:http_)?method_override)$/;
// a name holding none of these cannot spell "method", even percent-encoded
const MAY_OVERRIDE = /[mM%]/;

/** The name as a framework's decoder could read it: percent-decoded twice, lower-case, separators as "_". */
function normalisedName(raw: string): string {
  const decoded = raw.indexOf('%') < 0 ? raw : raw.replace(PCT, pctByte).replace(PCT, pctByte);
  // `_method[]`, `_method[0]`: qs and PHP read the bracketed part as an index into `_method`
  const bracket = decoded.indexOf('[');
  const base = bracket < 0 ? decoded : decoded.slice(0, bracket);
  return base.toLowerCase().replace(SEPARATORS, '_').replace(/_+$/, '');
}

/** The first query parameter of `uri` that some framework takes as the request's method, as written; else undefined. */
export function methodOverrideParam(uri: string): string | undefined {
  const q = uri.indexOf('?');
  if (q < 0 || !MAY_OVERRIDE.test(uri.slice(q))) return undefined;
  // "&" everywhere; ";" for the decoders that still split on it (Python before 3.9.2, some PHP setups)
  for (const part of uri.slice(q + 1).split(/[&;]/)) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (name !== '' && MAY_OVERRIDE.test(name) && OVERRIDE_NAME.test(normalisedName(name))) return name;
  }
  return undefined;
}
