// The two ways a plain connection to an address is made: on Node's raw TCP handle, and through net.Socket
// (FIRSTBELL_NET_SOCKET=1). Tests of what runs on a connection run on both.
import { afterAll, beforeAll, describe } from 'vitest';

/** Declares the tests of `body` twice, once on each connection path, as "<title> on the raw TCP handle" and "… on net.Socket". */
export function onBothConnectionPaths(title: string, body: () => void): void {
  describe.each([
    ['on the raw TCP handle', false],
    ['on net.Socket', true],
  ])(`${title} %s`, (_how, netSocket) => {
    beforeAll(() => {
      if (netSocket) process.env.FIRSTBELL_NET_SOCKET = '1';
    });
    afterAll(() => {
      delete process.env.FIRSTBELL_NET_SOCKET;
    });
    body();
  });
}
