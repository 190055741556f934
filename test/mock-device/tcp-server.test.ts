import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EspAtEmulator } from '../../mock-device/emulator.js';
import { serveTcp, type TcpServerHandle } from '../../mock-device/tcp-server.js';
import { Collector, once } from './transport-helpers.js';

let server: TcpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function dial(handle: TcpServerHandle): Promise<Socket> {
  const socket = connect(handle.port, handle.host);
  await once(socket, 'connect');
  return socket;
}

describe('serveTcp', () => {
  it('passes raw bytes both ways; one client at a time; the module survives a disconnect', async () => {
    const emulator = new EspAtEmulator({ chip: 'esp32c3', startup: 'running' });
    server = await serveTcp(emulator);
    expect(server.url).toBe(`tcp://127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);

    const first = await dial(server);
    const rx = new Collector(first);
    first.write('AT\r\n');
    expect(await rx.waitFor('\r\nOK\r\n')).toBe('AT\r\n\r\nOK\r\n');

    // A second client is closed straight away and gets nothing.
    const second = connect(server.port, server.host);
    const secondRx = new Collector(second);
    await once(second, 'close');
    expect(secondRx.text).toBe('');

    // Leave the module mid-write, then come back: it still waits for the payload.
    rx.clear();
    first.write('AT+SYSFLASH=1,"client_cert",0,4\r\n');
    await rx.waitFor('>');
    first.destroy();
    await once(first, 'close');
    const third = await dial(server);
    const thirdRx = new Collector(third);
    third.write(Buffer.from([0x00, 0x01, 0x0d, 0x0a]));
    await thirdRx.waitFor('\r\nOK\r\n');
    expect([...emulator.readPartition('client_cert').subarray(0, 4)]).toEqual([0x00, 0x01, 0x0d, 0x0a]);
    third.destroy();
  });

  it('powers an unpowered module when the first client connects, so it sees ready', async () => {
    const emulator = new EspAtEmulator({ chip: 'esp32c2', startup: 'off' });
    server = await serveTcp(emulator);
    expect(emulator.powered).toBe(false);
    const client = await dial(server);
    const rx = new Collector(client);
    await rx.waitFor('\r\nready\r\n');
    client.write('AT\r\n');
    expect(await rx.waitFor('\r\nOK\r\n')).toBe('\r\nready\r\nAT\r\n\r\nOK\r\n');
    client.destroy();
  });

  it('close() drops the client; unplug() disconnects it too', async () => {
    const emulator = new EspAtEmulator({ startup: 'running' });
    server = await serveTcp(emulator);
    const a = await dial(server);
    const aClosed = once(a, 'close');
    emulator.unplug();
    await aClosed;
    // The next connection powers the module back on: it boots and says ready.
    const b = await dial(server);
    const rx = new Collector(b);
    await rx.waitFor('\r\nready\r\n');
    const bClosed = once(b, 'close');
    await server.close();
    await bClosed;
  });
});
