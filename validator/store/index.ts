// The store layer's entry point: open a store over one pool (server Postgres or embedded PGlite).
export { createStore, MAX_DAILY_LIMIT, openStore } from './ticks';
