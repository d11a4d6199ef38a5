// Peer: Auth0's express-oauth2-jwt-bearer, as its README shows it, against the bench's issuer.
import http from 'node:http';
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';
import { listenAndReport } from './ready';

const app = express();
app.use(auth({ issuerBaseURL: process.env.BENCH_ISSUER!, audience: process.env.BENCH_AUDIENCE!, tokenSigningAlg: 'RS256' }));
app.all('/api/auth/validate', (req, res) => {
  const p = req.auth!.payload;
  res
    .set({ 'X-User-Id': String(p.sub), 'X-Scopes': String(p.scope ?? '').replace(/ /g, ',') })
    .status(200)
    .end();
});
listenAndReport(http.createServer(app), 'peer-auth0');
