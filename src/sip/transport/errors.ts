/** Start-up failures of the transport layer, worded for the operator. */
export class ListenError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ListenError';
    this.code = code;
  }
}

export function describeListenError(url: string, err: NodeJS.ErrnoException): ListenError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new ListenError(
        'SIP_LISTEN_IN_USE',
        `cannot listen on ${url}: the address is already in use (another SIP server, or another trunkgate, is running there). Stop it or choose another address with --sip-listen.`,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError('SIP_LISTEN_UNAVAILABLE', `cannot listen on ${url}: that address is not on this machine.`);
    case 'EACCES':
      return new ListenError('SIP_LISTEN_DENIED', `cannot listen on ${url}: permission denied (ports below 1024 need privileges).`);
    default:
      return new ListenError('SIP_LISTEN_FAILED', `cannot listen on ${url}: ${err.message}`);
  }
}
