/**
 * The API's routes (node:http, no framework):
 *
 * | route | answer |
 * |---|---|
 * | `GET /status` | 200 StationStatus |
 * | `GET /ports/:name/partitions` | 200 PortPartitions; 404 unknown port; 503 never connected |
 * | `GET /jobs` | 200 `{ jobs: JobView[] }` (newest first, up to 100) |
 * | `POST /jobs` | 202 `{ id }` once journaled; 400/403/413/415 when refused; 503 while shutting down |
 * | `GET /jobs/:id` | 200 JobView; 404 |
 * | `GET /jobs/:id/events` | 200 JSON lines: past events, then live ones until `end`; 404 |
 * | `DELETE /jobs/:id` | 200 JobView (cancelled); 409 running or finished; 404 |
 * | `GET /metrics` | 200 Prometheus text |
 * | `GET /` | 200 the operator page (HTML, the board embedded) |
 * | `GET /board` | 200 BoardSnapshot |
 * | `GET /events` | 200 server-sent events: the board on connect and after each change; 503 when too many are open |
 *
 * Errors are `{ "error": { "code", "message", "details"? } }`; unknown paths 404, wrong methods 405.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobEvent, PortPartitions, StationStatus } from '../api-types.js';
import type { BayBoard } from '../bay-board.js';
import { echoPath, echoString } from '../echo.js';
import { RequestError } from '../errors.js';
import type { JobService } from '../job-service.js';
import type { StationLogger } from '../logger.js';
import type { StationMetrics } from '../metrics.js';
import { operatorPage, PAGE_CSP, pageHeaders } from '../page/operator-page.js';
import { streamBoard } from './board-stream.js';
import { readJsonBody, sendError, sendJson } from './http.js';

export interface RouterContext {
  jobs: JobService;
  status(): StationStatus;
  /** Throws RequestError 404 (unknown port) or 503 (no table known). */
  partitions(port: string): PortPartitions;
  metrics: StationMetrics;
  board: BayBoard;
  maxBodyBytes: number;
  logger: StationLogger;
}

/** Open `GET /events` streams at most (each one a listener on the board). */
const MAX_BOARD_STREAMS = 32;

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  keys: string[];
  methods: Partial<Record<string, Handler>>;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createRouter(context: RouterContext): RequestHandler {
  const { jobs } = context;
  const jobOr404 = (id: string) => {
    const job = jobs.get(id);
    if (!job) throw new RequestError(404, 'NOT_FOUND', `no such job ${echoString(id)} (finished jobs are kept for jobs.history jobs)`);
    return job;
  };

  let boardStreams = 0;

  const routes: Route[] = [
    route('/', {
      GET: (_req, res) => {
        res.writeHead(200, pageHeaders(PAGE_CSP));
        res.end(operatorPage(context.board.snapshot()));
      },
    }),
    route('/board', { GET: (_req, res) => sendJson(res, 200, context.board.snapshot()) }),
    route('/events', {
      GET: (req, res) => {
        if (boardStreams >= MAX_BOARD_STREAMS) throw new RequestError(503, 'TOO_MANY_STREAMS', `${MAX_BOARD_STREAMS} event streams are open already; close a page`);
        boardStreams++;
        res.once('close', () => boardStreams--);
        streamBoard(req, res, context.board);
      },
    }),
    route('/status', { GET: (_req, res) => sendJson(res, 200, context.status()) }),
    route('/metrics', {
      GET: async (_req, res) => {
        const text = await context.metrics.text();
        res.writeHead(200, { 'Content-Type': context.metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(text);
      },
    }),
    route('/ports/:name/partitions', { GET: (_req, res, { name }) => sendJson(res, 200, context.partitions(name!)) }),
    route('/jobs', {
      GET: (_req, res) => sendJson(res, 200, { jobs: jobs.list() }),
      POST: async (req, res) => {
        const body = await readJsonBody(req, context.maxBodyBytes);
        const job = await jobs.submit(body);
        sendJson(res, 202, { id: job.id }, { Location: `/jobs/${job.id}` });
      },
    }),
    route('/jobs/:id', {
      GET: (_req, res, { id }) => sendJson(res, 200, jobs.view(jobOr404(id!))),
      DELETE: async (_req, res, { id }) => {
        const job = await jobs.cancel(id!);
        sendJson(res, 200, jobs.view(job));
      },
    }),
    route('/jobs/:id/events', {
      GET: (req, res, { id }) => {
        const job = jobOr404(id!);
        res.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        const write = (event: JobEvent): void => {
          res.write(`${JSON.stringify(event)}\n`);
          if (event.type === 'end') res.end();
        };
        // Past events and the subscription in the same turn: nothing can fall in between.
        const past = job.events;
        for (const event of past) write(event);
        if (past.at(-1)?.type === 'end' || job.isFinished) {
          if (!res.writableEnded) res.end();
          return;
        }
        const unsubscribe = job.subscribe(write);
        req.on('close', unsubscribe);
        res.on('close', unsubscribe);
      },
    }),
  ];

  return async (req, res) => {
    const started = performance.now();
    let status = 0;
    let code: string | undefined;
    try {
      const path = new URL(req.url ?? '/', 'http://station').pathname;
      let matched: Route | undefined;
      let params: Record<string, string> = {};
      for (const candidate of routes) {
        const match = candidate.pattern.exec(path);
        if (!match) continue;
        matched = candidate;
        params = Object.fromEntries(candidate.keys.map((key, i) => [key, decodeSegment(match[i + 1]!)]));
        break;
      }
      if (!matched) throw new RequestError(404, 'NOT_FOUND', `no route ${req.method} ${echoPath(path)}`);
      const handler = matched.methods[req.method ?? ''];
      if (!handler) {
        res.setHeader('Allow', Object.keys(matched.methods).join(', '));
        throw new RequestError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${echoPath(path)} (allowed: ${Object.keys(matched.methods).join(', ')})`);
      }
      await handler(req, res, params);
      status = res.statusCode;
    } catch (error) {
      ({ status, code } = sendError(res, error));
      if (status >= 500) context.logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error) }, 'request failed');
    } finally {
      context.logger.debug({ method: req.method, path: req.url?.split('?')[0], status, code, ms: Math.round(performance.now() - started) }, 'api request');
    }
  };
}

function route(path: string, methods: Partial<Record<string, Handler>>): Route {
  const keys: string[] = [];
  const source = path.replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}/?$`), keys, methods };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestError(400, 'BAD_REQUEST', 'the path is not valid percent-encoding');
  }
}
