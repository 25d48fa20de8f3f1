/**
 * Start-up failures of the transport layer. The code says what went wrong
 * (the catalogue in src/errors.ts words it for the operator); the message
 * is complete on its own for embedded use.
 */
export type ListenErrorCode = 'SIP_LISTEN_IN_USE' | 'SIP_LISTEN_UNAVAILABLE' | 'SIP_LISTEN_DENIED' | 'SIP_LISTEN_FAILED';

export class ListenError extends Error {
  constructor(
    readonly code: ListenErrorCode,
    /** The listen URL that failed. */
    readonly url: string,
    /** The system's own reason. */
    readonly reason: string,
  ) {
    super(`cannot listen on ${url}: ${reason}`);
    this.name = 'ListenError';
  }
}

export function describeListenError(url: string, err: NodeJS.ErrnoException): ListenError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new ListenError('SIP_LISTEN_IN_USE', url, 'the address is already in use');
    case 'EADDRNOTAVAIL':
      return new ListenError('SIP_LISTEN_UNAVAILABLE', url, 'that address is not on this machine');
    case 'EACCES':
      return new ListenError('SIP_LISTEN_DENIED', url, 'permission denied (ports below 1024 need privileges)');
    default:
      return new ListenError('SIP_LISTEN_FAILED', url, err.message);
  }
}
