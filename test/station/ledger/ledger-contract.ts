/**
 * What every ledger backend must do, as one suite: the SQLite tests call it with a temp file, the
 * PostgreSQL tests with a throwaway cluster. The ledger does not parse certificates, so the sets here
 * carry random "DER" bytes and their real SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LedgerStateError } from '../../../src/errors.js';
import type { DeviceRecord, Ledger, LedgerContext, NewSet } from '../../../src/station/ledger/ledger.js';

export interface OpenedLedger {
  ledger: Ledger;
  close(): Promise<void>;
}

export function fakeSet(name: string): NewSet {
  const der = randomBytes(64);
  return {
    name,
    certificatePem: `-----BEGIN CERTIFICATE-----\n${der.toString('base64')}\n-----END CERTIFICATE-----\n`,
    certificateDer: der,
    serialHex: randomBytes(16).toString('hex'),
    sha256Hex: createHash('sha256').update(der).digest('hex'),
    subject: `CN=${name}`,
    notAfter: new Date('2030-01-01T00:00:00Z'),
    files: [{ target: 'client_cert', type: 'cert', file: 'client_cert/cert.pem', bytes: 64, sha256Hex: createHash('sha256').update(der).digest('hex') }],
  };
}

export function fakeDevice(index: number): DeviceRecord {
  const mac = `02:00:00:00:${(index >> 8).toString(16).padStart(2, '0')}:${(index & 0xff).toString(16).padStart(2, '0')}`;
  return { mac, chip: 'ESP32-C3', firmware: '3.2.0.0', storageMode: 'partitions', identitySource: 'efuse', stationMac: mac, warnings: [] };
}

const CTX: LedgerContext = { station: 'line-1', port: 'bay-a', actor: 'test' };

export function describeLedgerContract(name: string, open: () => Promise<OpenedLedger>): void {
  describe(`ledger contract: ${name}`, () => {
    let opened: OpenedLedger;
    let ledger: Ledger;
    beforeEach(async () => {
      opened = await open();
      ledger = opened.ledger;
    });
    afterEach(async () => {
      await opened.close();
    });

    async function batchOf(batch: string, count: number): Promise<NewSet[]> {
      const sets = Array.from({ length: count }, (_, i) => fakeSet(`${batch}-set-${String(i).padStart(3, '0')}`));
      await ledger.importBatch({ name: batch, kind: 'sets', source: `/batches/${batch}` }, sets, CTX);
      return sets;
    }

    async function device(index: number): Promise<string> {
      const d = fakeDevice(index);
      await ledger.recordDevice(d, CTX);
      return d.mac;
    }

    it('imports a batch and counts its sets', async () => {
      await batchOf('b1', 3);
      const summary = await ledger.batch('b1');
      expect(summary).toMatchObject({ name: 'b1', kind: 'sets', source: '/batches/b1', station: 'line-1', total: 3, available: 3 });
      expect(summary!.counts).toEqual({ reserved: 0, writing: 0, verified: 0, failed: 0, suspect: 0 });
      expect((await ledger.batches()).map((b) => b.name)).toEqual(['b1']);
      expect(await ledger.batch('nope')).toBeUndefined();
      expect((await ledger.events()).map((e) => e.kind)).toEqual(['batch-imported']);
    });

    it('refuses a whole import when one certificate is already in the ledger (any batch), or twice in the import', async () => {
      const [first] = await batchOf('b1', 2);
      const fresh = [fakeSet('x-0'), fakeSet('x-1')];
      await expect(ledger.importBatch({ name: 'b2', kind: 'sets', source: '/b2' }, [fresh[0]!, { ...first!, name: 'x-dup' }, fresh[1]!], CTX)).rejects.toMatchObject({
        code: 'BAD_INPUT',
        exitCode: 2,
      });
      expect(await ledger.batch('b2')).toBeUndefined();
      await expect(ledger.importBatch({ name: 'b3', kind: 'sets', source: '/b3' }, [fresh[0]!, { ...fresh[0]!, name: 'again' }], CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      expect(await ledger.batch('b3')).toBeUndefined();
      await expect(ledger.importBatch({ name: 'b1', kind: 'sets', source: '/b1' }, [fresh[1]!], CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      // Nothing of the refused imports stayed: the fresh sets import fine afterwards.
      await ledger.importBatch({ name: 'b4', kind: 'sets', source: '/b4' }, fresh, CTX);
      expect((await ledger.batch('b4'))!.total).toBe(2);
    });

    it('records devices, updating what changed', async () => {
      const d = fakeDevice(1);
      await ledger.recordDevice(d, CTX);
      await ledger.recordDevice({ ...d, firmware: '3.3.0.0', stationMac: '02:11:11:11:11:11', warnings: ['station MAC differs'] }, CTX);
      expect(await ledger.device(d.mac)).toEqual({ ...d, firmware: '3.3.0.0', stationMac: '02:11:11:11:11:11', warnings: ['station MAC differs'] });
      expect(await ledger.device('02:99:99:99:99:99')).toBeUndefined();
    });

    it('claims distinct sets for distinct devices, the same set again for the same device, then reports exhaustion', async () => {
      const sets = await batchOf('b1', 2);
      const a = await device(1);
      const b = await device(2);
      const c = await device(3);
      const first = await ledger.claim({ batch: 'b1', device: a }, CTX);
      expect(first.kind).toBe('claimed');
      if (first.kind === 'exhausted') throw new Error('unreachable');
      expect(first.assignment).toMatchObject({ batch: 'b1', device: a, state: 'reserved', current: true, station: 'line-1', port: 'bay-a' });
      expect(first.assignment.set.name).toBe(sets[0]!.name);
      expect(first.assignment.set.sha256Hex).toBe(sets[0]!.sha256Hex);
      expect(Buffer.from(first.assignment.set.certificateDer)).toEqual(Buffer.from(sets[0]!.certificateDer));
      const again = await ledger.claim({ batch: 'b1', device: a }, CTX);
      expect(again).toMatchObject({ kind: 'existing', assignment: { id: first.assignment.id } });
      const second = await ledger.claim({ batch: 'b1', device: b }, CTX);
      expect(second.kind === 'claimed' && second.assignment.set.name).toBe(sets[1]!.name);
      const third = await ledger.claim({ batch: 'b1', device: c }, CTX);
      expect(third).toMatchObject({ kind: 'exhausted', batch: { name: 'b1', total: 2, available: 0 } });
      expect((await ledger.batch('b1'))!.counts.reserved).toBe(2);
    });

    it('never hands one set to two devices under concurrent claims', async () => {
      await batchOf('b1', 10);
      const macs = await Promise.all(Array.from({ length: 16 }, (_, i) => device(i + 1)));
      const results = await Promise.all(macs.map((mac) => ledger.claim({ batch: 'b1', device: mac }, CTX)));
      const claimed = results.flatMap((r) => (r.kind === 'claimed' ? [r.assignment.set.name] : []));
      expect(claimed).toHaveLength(10);
      expect(new Set(claimed).size).toBe(10);
      expect(results.filter((r) => r.kind === 'exhausted')).toHaveLength(6);
    });

    it('refuses a claim for an unknown batch, a device never identified, or the wrong kind of batch', async () => {
      await batchOf('b1', 1);
      const a = await device(1);
      await expect(ledger.claim({ batch: 'nope', device: a }, CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      await expect(ledger.claim({ batch: 'b1', device: '02:ff:ff:ff:ff:ff' }, CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      await expect(ledger.claimIssued({ batch: 'b1', device: a, set: fakeSet('i') }, CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      expect((await ledger.batch('b1'))!.available).toBe(1);
    });

    it('moves an assignment reserved → writing → verified, logging each step with station, port and actor', async () => {
      await batchOf('b1', 1);
      const a = await device(1);
      const claim = await ledger.claim({ batch: 'b1', device: a }, CTX);
      if (claim.kind === 'exhausted') throw new Error('unreachable');
      const id = claim.assignment.id;
      expect((await ledger.transition(id, 'writing', { ...CTX, port: 'bay-b' })).state).toBe('writing');
      const verified = await ledger.transition(id, 'verified', { ...CTX, port: 'bay-b' }, undefined, { bytesWritten: 1234 });
      expect(verified).toMatchObject({ state: 'verified', port: 'bay-b', reason: undefined });
      const events = await ledger.events({ assignmentId: id });
      expect(events.map((e) => e.kind)).toEqual(['claimed', 'writing', 'verified']);
      expect(events[2]).toMatchObject({ station: 'line-1', port: 'bay-b', actor: 'test', device: a, batch: 'b1', set: 'b1-set-000', detail: { from: 'writing', bytesWritten: 1234 } });
      expect(events[2]!.time).toBeInstanceOf(Date);
      expect((await ledger.events({ device: a })).map((e) => e.kind)).toEqual(['device-identified', 'claimed', 'writing', 'verified']);
      // A crash left one writing: the same unit provisioned again goes writing → writing.
      // Provisioned again: verified → writing → verified (the update itself writes nothing when it is there).
      await ledger.transition(id, 'writing', CTX);
      await ledger.transition(id, 'writing', CTX);
      await ledger.transition(id, 'verified', CTX);
    });

    it('refuses transitions the state machine does not allow', async () => {
      await batchOf('b1', 1);
      const a = await device(1);
      const claim = await ledger.claim({ batch: 'b1', device: a }, CTX);
      if (claim.kind === 'exhausted') throw new Error('unreachable');
      const id = claim.assignment.id;
      await expect(ledger.transition(id, 'verified', CTX)).rejects.toBeInstanceOf(LedgerStateError);
      await expect(ledger.transition(id, 'failed', CTX)).rejects.toBeInstanceOf(LedgerStateError);
      await expect(ledger.transition(9999, 'writing', CTX)).rejects.toBeInstanceOf(LedgerStateError);
      expect((await ledger.assignment(id))!.state).toBe('reserved');
    });

    it('releases a reserved set for the next device, but never one that may have reached a module', async () => {
      await batchOf('b1', 1);
      const a = await device(1);
      const b = await device(2);
      const claim = await ledger.claim({ batch: 'b1', device: a }, CTX);
      if (claim.kind === 'exhausted') throw new Error('unreachable');
      await ledger.release(claim.assignment.id, CTX, 'port lost before writing');
      expect(await ledger.assignment(claim.assignment.id)).toBeUndefined();
      const forB = await ledger.claim({ batch: 'b1', device: b }, CTX);
      expect(forB.kind === 'claimed' && forB.assignment.set.name).toBe('b1-set-000');
      if (forB.kind === 'exhausted') throw new Error('unreachable');
      await ledger.transition(forB.assignment.id, 'writing', CTX);
      await expect(ledger.release(forB.assignment.id, CTX, 'no')).rejects.toBeInstanceOf(LedgerStateError);
      await ledger.transition(forB.assignment.id, 'failed', CTX, 'verify failed at 0x1000');
      await expect(ledger.release(forB.assignment.id, CTX, 'no')).rejects.toBeInstanceOf(LedgerStateError);
      // Still b's: a claim for a gets nothing, b gets the same set again and retries.
      expect((await ledger.claim({ batch: 'b1', device: a }, CTX)).kind).toBe('exhausted');
      const retry = await ledger.claim({ batch: 'b1', device: b }, CTX);
      expect(retry).toMatchObject({ kind: 'existing', assignment: { id: forB.assignment.id, state: 'failed', reason: 'verify failed at 0x1000' } });
      await ledger.transition(forB.assignment.id, 'writing', CTX);
      expect((await ledger.transition(forB.assignment.id, 'verified', CTX)).reason).toBeUndefined();
      expect((await ledger.events()).some((e) => e.kind === 'released' && e.detail.reason === 'port lost before writing')).toBe(true);
    });

    it('lists in-flight assignments (reserved, writing) per station for recovery', async () => {
      await batchOf('b1', 3);
      const [a, b, c] = [await device(1), await device(2), await device(3)];
      const claims = [];
      for (const [mac, station] of [[a, 'line-1'], [b, 'line-2'], [c, 'line-1']] as const) claims.push(await ledger.claim({ batch: 'b1', device: mac }, { ...CTX, station }));
      const ids = claims.map((r) => (r.kind === 'exhausted' ? -1 : r.assignment.id));
      await ledger.transition(ids[0]!, 'writing', CTX);
      await ledger.transition(ids[2]!, 'writing', CTX);
      await ledger.transition(ids[2]!, 'verified', CTX);
      expect((await ledger.inFlight()).map((x) => [x.device, x.state])).toEqual([
        [a, 'writing'],
        [b, 'reserved'],
      ]);
      expect((await ledger.inFlight({ station: 'line-2' })).map((x) => x.device)).toEqual([b]);
      await ledger.transition(ids[0]!, 'suspect', CTX, 'unit left the bay while writing');
      expect((await ledger.assignment(ids[0]!))).toMatchObject({ state: 'suspect', reason: 'unit left the bay while writing' });
      expect((await ledger.inFlight({ station: 'line-1' }))).toEqual([]);
    });

    it('issues sets per device: one current per device, a retired one stays bound to it', async () => {
      await ledger.ensureIssuedBatch({ name: 'ca-1', kind: 'issued', source: 'sha256:aa' }, CTX);
      await ledger.ensureIssuedBatch({ name: 'ca-1', kind: 'issued', source: 'sha256:aa' }, CTX);
      await expect(ledger.ensureIssuedBatch({ name: 'ca-1', kind: 'issued', source: 'sha256:bb' }, CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      await batchOf('b1', 1);
      await expect(ledger.ensureIssuedBatch({ name: 'b1', kind: 'issued', source: 'x' }, CTX)).rejects.toMatchObject({ code: 'BAD_INPUT' });
      const a = await device(1);
      const first = await ledger.claimIssued({ batch: 'ca-1', device: a, set: fakeSet('serial-1') }, CTX);
      expect(first).toMatchObject({ kind: 'claimed', assignment: { batch: 'ca-1', device: a, state: 'reserved', set: { name: 'serial-1' } } });
      if (first.kind === 'exhausted') throw new Error('unreachable');
      const again = await ledger.claimIssued({ batch: 'ca-1', device: a, set: fakeSet('serial-2') }, CTX);
      expect(again).toMatchObject({ kind: 'existing', assignment: { id: first.assignment.id, set: { name: 'serial-1' } } });
      await ledger.transition(first.assignment.id, 'writing', CTX);
      const retired = await ledger.retire(first.assignment.id, CTX, 'key lost in a crash while writing');
      expect(retired).toMatchObject({ current: false, state: 'writing', reason: 'key lost in a crash while writing' });
      expect(await ledger.currentAssignment('ca-1', a)).toBeUndefined();
      const next = await ledger.claimIssued({ batch: 'ca-1', device: a, set: fakeSet('serial-3') }, CTX);
      expect(next.kind).toBe('claimed');
      if (next.kind === 'exhausted') throw new Error('unreachable');
      expect((await ledger.currentAssignment('ca-1', a))!.id).toBe(next.assignment.id);
      expect((await ledger.assignmentsOf(a)).map((x) => [x.set.name, x.current])).toEqual([
        ['serial-1', false],
        ['serial-3', true],
      ]);
      await expect(ledger.retire(first.assignment.id, CTX, 'twice')).rejects.toBeInstanceOf(LedgerStateError);
      // A released issued set is gone with its key.
      await ledger.release(next.assignment.id, CTX, 'identification failed');
      expect((await ledger.batch('ca-1'))!.total).toBe(1);
      // The same certificate cannot be stored twice, even issued.
      const dup = fakeSet('serial-4');
      await ledger.claimIssued({ batch: 'ca-1', device: a, set: dup }, CTX);
      const b = await device(2);
      await expect(ledger.claimIssued({ batch: 'ca-1', device: b, set: { ...dup, name: 'serial-5' } }, CTX)).rejects.toThrow();
    });

    it('exports one record per assignment that reached a module', async () => {
      const sets = await batchOf('b1', 3);
      await ledger.ensureIssuedBatch({ name: 'ca-1', kind: 'issued', source: 'sha256:aa' }, CTX);
      const [a, b, c] = [await device(1), await device(2), await device(3)];
      const ids: number[] = [];
      for (const mac of [a, b, c]) {
        const r = await ledger.claim({ batch: 'b1', device: mac }, CTX);
        if (r.kind === 'exhausted') throw new Error('unreachable');
        ids.push(r.assignment.id);
      }
      await ledger.transition(ids[0]!, 'writing', CTX);
      await ledger.transition(ids[0]!, 'verified', CTX);
      await ledger.transition(ids[1]!, 'writing', CTX);
      await ledger.transition(ids[1]!, 'failed', CTX, 'verify failed');
      const issuedSet = fakeSet('serial-1');
      const issued = await ledger.claimIssued({ batch: 'ca-1', device: a, set: issuedSet }, CTX);
      if (issued.kind === 'exhausted') throw new Error('unreachable');
      await ledger.transition(issued.assignment.id, 'writing', CTX);
      const records = await ledger.exportRecords();
      expect(records.map((r) => [r.device, r.set, r.batch, r.outcome])).toEqual([
        [a, sets[0]!.name, 'b1', 'verified'],
        [b, sets[1]!.name, 'b1', 'failed'],
        [a, undefined, 'ca-1', 'suspect'],
      ]);
      expect(records[0]).toMatchObject({ certSerial: sets[0]!.serialHex, certSha256: sets[0]!.sha256Hex, subject: sets[0]!.subject, station: 'line-1', port: 'bay-a' });
      expect(new Date(records[0]!.time).toISOString()).toBe(records[0]!.time);
    });

    it('keeps an append-only event log of caller events too', async () => {
      await ledger.appendEvent({ kind: 'unit-left', device: '02:00:00:00:00:01', detail: { after: 'verified' } }, { station: 's', port: 'p' });
      const [event] = await ledger.events();
      expect(event).toMatchObject({ kind: 'unit-left', station: 's', port: 'p', device: '02:00:00:00:00:01', detail: { after: 'verified' } });
      expect(event!.actor).toMatch(/.+@.+/);
    });
  });
}
