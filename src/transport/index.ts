/** Public surface of the transport layer. */
export type { OpenOptions, Transport, TransportFactory } from './transport.js';
export {
  DEFAULT_BAUD_RATE,
  DEFAULT_OPEN_TIMEOUT_MS,
  openTransport,
  parseTransportUrl,
  registerLazyTransportScheme,
  registerTransportScheme,
  transportSchemes,
  type OpenTransportOptions,
  type TransportTarget,
} from './open.js';
export { abortReason, delay, throwIfAborted, timeoutError, waitFor, type WaitExecutor, type WaitOptions } from './abortable.js';
export { assertBaudRate, BaseTransport } from './base-transport.js';
export { SerialTransport, serialOpenError, type SerialLineOptions, type SerialOpenOptions } from './serial-transport.js';
export { TcpTransport, tcpConnectError, type TcpOpenOptions } from './tcp-transport.js';
