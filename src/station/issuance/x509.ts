/**
 * @peculiar/x509, ready to use: it needs reflect-metadata loaded before it (its dependency
 * injection reads decorators) and a WebCrypto provider (node's own, so keys stay in this process).
 * Import the library from here, never directly.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
