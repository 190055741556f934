/**
 * `GET /events`: the board as server-sent events. On connect the current snapshot, then one
 * snapshot per burst of changes (changes within `coalesceMs` are sent once, as the newest
 * snapshot); a comment line every `heartbeatMs` keeps idle connections (and proxies) open. A slow
 * reader is never sent more than one pending snapshot: while the socket is full, only the latest is
 * kept. Everything is released when either side closes.
 *
 * Event format: `event: board` with `data: <BoardSnapshot JSON>` (one line: JSON.stringify escapes
 * newlines in strings).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BayBoard } from '../bay-board.js';

export interface BoardStreamOptions {
  /** @default 100 */
  coalesceMs?: number;
  /** @default 15000 */
  heartbeatMs?: number;
  /** How long a browser waits before reconnecting after the stream dropped. @default 2000 */
  retryMs?: number;
}

export function streamBoard(req: IncomingMessage, res: ServerResponse, board: BayBoard, options: BoardStreamOptions = {}): void {
  const coalesceMs = options.coalesceMs ?? 100;
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // Behind nginx: do not buffer the stream.
    'X-Accel-Buffering': 'no',
  });
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let waitingForDrain = false;

  const send = (): void => {
    timer = undefined;
    if (closed) return;
    if (res.writableNeedDrain) {
      waitingForDrain = true;
      return;
    }
    res.write(`event: board\ndata: ${JSON.stringify(board.snapshot())}\n\n`);
  };
  const onChange = (): void => {
    if (!timer && !waitingForDrain) timer = setTimeout(send, coalesceMs);
  };
  const onDrain = (): void => {
    if (!waitingForDrain) return;
    waitingForDrain = false;
    send();
  };
  const heartbeat = setInterval(() => {
    if (!closed && !res.writableNeedDrain) res.write(': keep-alive\n\n');
  }, options.heartbeatMs ?? 15_000);
  heartbeat.unref();

  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    board.off('change', onChange);
    res.off('drain', onDrain);
    clearInterval(heartbeat);
    if (timer) clearTimeout(timer);
  };
  req.on('close', cleanup);
  res.on('close', cleanup);
  res.on('error', cleanup);

  board.on('change', onChange);
  res.on('drain', onDrain);
  res.write(`retry: ${options.retryMs ?? 2000}\n\n`);
  send();
}
