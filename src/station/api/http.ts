/**
 * Small node:http helpers: bounded JSON bodies, JSON answers, and errors as `{ error: { code, message } }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AtPkiError } from '../../errors.js';
import type { ApiErrorBody } from '../api-types.js';
import { errorBody, RequestError } from '../errors.js';

/**
 * Read a JSON body of at most `maxBytes`. 415 unless the content type is JSON, 413 when too large
 * (from Content-Length before reading anything, or while reading), 400 when it does not parse.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `send the body as application/json${type ? `, not ${type}` : ''}`);
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  const raw = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const wipe = (): void => {
      for (const c of chunks) c.fill(0);
      chunks.length = 0;
    };
    // Events, not for-await: leaving a for-await loop destroys the socket, and the 413 could not be sent.
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBytes) {
        refused = true;
        wipe();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      const all = Buffer.concat(chunks);
      wipe();
      resolve(all);
    });
    // The client went away or was cut off (api.requestTimeoutMs) before the body was complete.
    const incomplete = (): void => {
      wipe();
      reject(new RequestError(400, 'BAD_REQUEST', 'the request body did not arrive completely'));
    };
    req.on('error', incomplete);
    req.on('close', () => {
      if (!req.complete) incomplete();
    });
  });
  try {
    if (raw.length === 0) throw new RequestError(400, 'BAD_REQUEST', 'the body is empty; send a JSON object');
    return JSON.parse(raw.toString('utf8'));
  } catch (error) {
    if (error instanceof RequestError) throw error;
    throw new RequestError(400, 'BAD_REQUEST', 'the body is not valid JSON');
  } finally {
    raw.fill(0);
  }
}

function tooLarge(maxBytes: number): RequestError {
  return new RequestError(413, 'PAYLOAD_TOO_LARGE', `the body is larger than ${maxBytes} bytes (api.maxBodyBytes)`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/** The HTTP status and body for anything thrown while handling a request. */
export function errorResponse(error: unknown): { status: number; body: { error: ApiErrorBody } } {
  if (error instanceof RequestError) return { status: error.status, body: { error: errorBody(error) } };
  // Bad input found by the shared layers (bin decoding, validation, files): refused, nothing done.
  if (error instanceof AtPkiError && error.exitCode === 2) return { status: 400, body: { error: errorBody(error) } };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error (see the daemon log)' } } };
}

export function sendError(res: ServerResponse, error: unknown): { status: number; code: string } {
  const { status, body } = errorResponse(error);
  if (!res.headersSent) {
    // Refused before the body was read: do not keep the connection for the rest of it.
    const headers: Record<string, string> = status === 413 ? { Connection: 'close' } : {};
    if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
    sendJson(res, status, body, headers);
  } else {
    res.end();
  }
  return { status, code: body.error.code };
}
