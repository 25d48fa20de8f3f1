/**
 * Sending a request inside a dialog and waiting for its final response; for a
 * re-INVITE the ACK for a 2xx is sent too (§14.1). Timeouts and transport
 * errors come back as 408 and 503, so callers handle one shape.
 */
import { type SipRequest, type SipResponse, reasonPhrase } from '../message/index.js';
import type { Dialog } from './dialog.js';
import type { UserAgentCore } from './user-agent-core.js';

export interface InDialogResult {
  status: number;
  reason: string;
  response: SipResponse | undefined;
}

export interface InDialogOptions {
  headers?: ReadonlyArray<readonly [string, string]>;
  body?: Buffer;
  contentType?: string;
}

export function sendInDialog(core: UserAgentCore, dialog: Dialog, method: string, options: InDialogOptions = {}): Promise<InDialogResult> {
  const req: SipRequest = dialog.createRequest(method, options.headers, options.body);
  if (options.contentType !== undefined && options.body !== undefined && options.body.length > 0) {
    req.headers.append('Content-Type', options.contentType);
  }
  const seq = req.cseq?.seq ?? dialog.localSeq;
  return new Promise((resolve) => {
    let settled = false;
    const settle = (r: InDialogResult): void => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    core.sendRequest(req, dialog.destination, {
      onResponse: (res) => {
        if (res.status < 200) return;
        if (method === 'INVITE' && res.status < 300) {
          dialog.refreshTarget(res);
          core.sendAck(dialog.createAck(seq), dialog.destination);
        }
        settle({ status: res.status, reason: res.reason, response: res });
      },
      onTimeout: () => settle({ status: 408, reason: reasonPhrase(408), response: undefined }),
      onTransportError: () => settle({ status: 503, reason: reasonPhrase(503), response: undefined }),
      onTerminated: () => settle({ status: 408, reason: reasonPhrase(408), response: undefined }),
    });
  });
}
