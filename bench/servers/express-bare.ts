// Baseline: a bare Express 5 route answering 200 with two headers, written the way anyone would.
import http from 'node:http';
import express from 'express';
import { IDENTITY, listenAndReport } from './ready';

const app = express();
app.all('/api/auth/validate', (_req, res) => {
  res.set(IDENTITY).status(200).end();
});
listenAndReport(http.createServer(app), 'express-bare');
