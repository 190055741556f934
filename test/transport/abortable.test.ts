import { describe, expect, it, vi } from 'vitest';
import { AbortedError, DisconnectedError, TimeoutError } from '../../src/errors.js';
import { delay, waitFor } from '../../src/transport/abortable.js';

describe('waitFor', () => {
  it('resolves with the promise value and leaves no abort listener behind', async () => {
    const controller = new AbortController();
    const remove = vi.spyOn(controller.signal, 'removeEventListener');
    await expect(waitFor(Promise.resolve(42), { what: 'the answer', timeoutMs: 1000, signal: controller.signal })).resolves.toBe(42);
    expect(remove).toHaveBeenCalledWith('abort', expect.any(Function));
  });

  it('passes the rejection of the work through', async () => {
    const boom = new Error('boom');
    await expect(waitFor(Promise.reject(boom), { what: 'x', timeoutMs: 1000 })).rejects.toBe(boom);
  });

  it('rejects with a TimeoutError naming what it waited for', async () => {
    const error = await waitFor(new Promise(() => undefined), { what: 'waiting for OK', timeoutMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toBe('waiting for OK timed out after 20 ms');
    expect((error as TimeoutError).details).toEqual({ waitingFor: 'waiting for OK', timeoutMs: 20 });
  });

  it('rejects with an AbortedError when the signal fires, and at once when it already fired', async () => {
    const controller = new AbortController();
    const pending = waitFor(new Promise(() => undefined), { what: 'reading', signal: controller.signal });
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).details).toEqual({ waitingFor: 'reading' });

    const executor = vi.fn();
    await expect(waitFor(executor, { what: 'reading', signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(executor).not.toHaveBeenCalled();
  });

  it('rejects with the abort reason itself when it is an AtPkiError', async () => {
    const controller = new AbortController();
    const reason = new DisconnectedError('unplugged');
    const pending = waitFor(new Promise(() => undefined), { what: 'reading', signal: controller.signal });
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('runs the executor cleanup exactly once, whichever way the wait ends', async () => {
    const cleanups: string[] = [];
    await waitFor<number>((resolve) => {
      setTimeout(() => resolve(1), 1);
      return () => cleanups.push('resolved');
    }, { what: 'a' });
    await waitFor<number>((resolve) => {
      resolve(2); // before the cleanup is even returned
      return () => cleanups.push('sync');
    }, { what: 'b' });
    await waitFor<number>((_resolve, reject) => {
      setTimeout(() => reject(new Error('no')), 1);
      return () => cleanups.push('rejected');
    }, { what: 'c' }).catch(() => undefined);
    await waitFor<number>(() => () => cleanups.push('timeout'), { what: 'd', timeoutMs: 5 }).catch(() => undefined);
    const controller = new AbortController();
    const aborted = waitFor<number>(() => () => cleanups.push('abort'), { what: 'e', signal: controller.signal });
    controller.abort();
    await aborted.catch(() => undefined);
    await expect(waitFor<number>(() => { throw new Error('thrown'); }, { what: 'f' })).rejects.toThrow('thrown');
    expect(cleanups).toEqual(['resolved', 'sync', 'rejected', 'timeout', 'abort']);
  });

  it('hands a value that arrives after the timeout to onAbandon', async () => {
    let fulfil!: (v: string) => void;
    const late = new Promise<string>((resolve) => (fulfil = resolve));
    const abandoned: string[] = [];
    await expect(waitFor(late, { what: 'opening', timeoutMs: 5, onAbandon: (v) => abandoned.push(v) })).rejects.toBeInstanceOf(TimeoutError);
    fulfil('port');
    await late;
    await new Promise((r) => setImmediate(r));
    expect(abandoned).toEqual(['port']);
  });

  it('refuses a negative timeout', () => {
    expect(() => waitFor(Promise.resolve(1), { what: 'x', timeoutMs: -1 })).toThrow(RangeError);
  });
});

describe('delay', () => {
  it('resolves, and rejects when aborted', async () => {
    await expect(delay(1)).resolves.toBeUndefined();
    const controller = new AbortController();
    const pending = delay(60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
  });
});
