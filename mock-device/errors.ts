/**
 * Errors the mock device's transports throw. The `code` strings match the application's error
 * codes (DISCONNECTED, PORT_UNAVAILABLE, ABORTED) so callers can handle mock and real ports alike
 * without this package importing the application.
 */

export type MockDeviceErrorCode = 'DISCONNECTED' | 'PORT_UNAVAILABLE' | 'ABORTED';

export class MockDeviceError extends Error {
  constructor(
    readonly code: MockDeviceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MockDeviceError';
  }
}

export function disconnectedError(what: string): MockDeviceError {
  return new MockDeviceError('DISCONNECTED', `${what}: disconnected`);
}
