/**
 * The board's server-sent event stream on its own (a BayBoard and a bare node:http server): the
 * snapshot on connect, bursts coalesced into one event carrying the newest state, heartbeat
 * comments, and no listener left on the board once the client has gone.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { streamBoard } from '../../src/station/api/board-stream.js';
import { BayBoard, type BoardSnapshot } from '../../src/station/bay-board.js';
import { eventually } from './support.js';

interface Frames {
  /** Parsed `board` events, in order. */
  boards: BoardSnapshot[];
  /** Everything received, as text. */
  text: () => string;
  close(): void;
}

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(board: BayBoard, options: Parameters<typeof streamBoard>[3]): Promise<number> {
  server = createServer((req, res) => streamBoard(req, res, board, options));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function follow(port: number): Promise<Frames & { response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/events' }, (response) => {
      let text = '';
      const boards: BoardSnapshot[] = [];
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        // Whole events only (a chunk may end inside one).
        const events = [...text.matchAll(/^event: board\ndata: (.*)\n\n/gm)];
        for (const match of events.slice(boards.length)) boards.push(JSON.parse(match[1]!) as BoardSnapshot);
      });
      resolve({ response, boards, text: () => text, close: () => req.destroy() });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /events stream', () => {
  it('sends the board on connect, then one event per burst with the newest state', async () => {
    const board = new BayBoard(['a', 'b']);
    const port = await serve(board, { coalesceMs: 50 });
    const stream = await follow(port);
    expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers['cache-control']).toBe('no-store');
    await eventually(() => stream.boards.length === 1, 'the snapshot on connect');
    expect(stream.text().startsWith('retry: 2000\n\n')).toBe(true);
    expect(stream.boards[0]!.bays.map((bay) => [bay.bay, bay.state])).toEqual([['a', 'down'], ['b', 'down']]);

    // A burst in one turn of the event loop: the timer cannot fire in between.
    for (let done = 0; done <= 4096; done += 64) board.set('a', { state: 'provisioning', phase: 'write', progress: { done, total: 4096 } });
    board.set('a', { state: 'passed' });
    board.record({ bay: 'a', ok: true });
    await eventually(() => stream.boards.length === 2, 'the burst, coalesced');
    expect(stream.boards[1]!.bays[0]).toMatchObject({ bay: 'a', state: 'passed' });
    expect(stream.boards[1]!.totals.passedToday).toBe(1);

    board.set('b', { state: 'waiting' });
    await eventually(() => stream.boards.length === 3, 'the next change');
    expect(stream.boards[2]!.bays[1]!.state).toBe('waiting');
    stream.close();
  });

  it('sends heartbeat comments while nothing changes, and leaves no listener behind when the client goes', async () => {
    const board = new BayBoard(['a']);
    const port = await serve(board, { heartbeatMs: 20 });
    const streams = await Promise.all([follow(port), follow(port)]);
    await eventually(() => board.listenerCount('change') === 2, 'two listeners');
    await eventually(() => streams.every((stream) => (stream.text().match(/^: keep-alive\n\n/gm) ?? []).length >= 2), 'heartbeats');
    for (const stream of streams) stream.close();
    await eventually(() => board.listenerCount('change') === 0, 'listeners removed');
  });
});
