// Peer: express-jwt + jwks-rsa, as their READMEs show them, against the bench's issuer.
import http from 'node:http';
import express from 'express';
import { expressjwt, type Request as JwtRequest } from 'express-jwt';
import jwksRsa from 'jwks-rsa';
import { listenAndReport } from './ready';

const app = express();
app.use(
  expressjwt({
    secret: jwksRsa.expressJwtSecret({ cache: true, rateLimit: true, jwksRequestsPerMinute: 5, jwksUri: process.env.BENCH_JWKS_URL! }) as never,
    audience: process.env.BENCH_AUDIENCE,
    issuer: process.env.BENCH_ISSUER,
    algorithms: ['RS256'],
  }),
);
app.all('/api/auth/validate', (req: JwtRequest, res) => {
  const p = req.auth!;
  res
    .set({ 'X-User-Id': String(p.sub), 'X-Scopes': String(p.scope ?? '').replace(/ /g, ',') })
    .status(200)
    .end();
});
listenAndReport(http.createServer(app), 'peer-express-jwt');
