// A lean SIP-over-WebSocket client (RFC 7118) for the client benchmarks: it registers with MD5
// digest (RFC 2617, qop=auth) and answers every INVITE at once with a fixed SDP, ACKs nothing
// (it is the callee), and answers BYE 200. Hundreds fit in one process where as many SIP.js
// user agents would take the benchmark's own CPU; the integration tests use SIP.js itself.
import { createHash, randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';

const md5 = (s) => createHash('md5').update(s).digest('hex');
const token = (n = 8) => randomBytes(n).toString('hex');

function header(text, name) {
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(text);
  return m === null ? undefined : m[1].trim();
}

function statusOf(text) {
  const m = /^SIP\/2\.0 (\d{3})/.exec(text);
  return m === null ? undefined : Number(m[1]);
}

function param(challenge, name) {
  return new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1];
}

/** The headers a response copies from its request (RFC 3261 §8.2.6.2), with a To tag. */
function responseTo(request, status, reason, toTag, extra = [], body = '') {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const line of request.split('\r\n')) {
    if (/^(via|from|call-id|cseq):/i.test(line)) lines.push(line);
    else if (/^to:/i.test(line)) lines.push(/;tag=/.test(line) ? line : `${line};tag=${toTag}`);
  }
  return [...lines, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
}

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');

export class WsSipClient {
  constructor({ url, identity, password, domain }) {
    this.url = url;
    this.identity = identity;
    this.password = password;
    this.domain = domain;
    this.host = `${token(6)}.invalid`;
    this.contact = `sip:${identity}-${token(4)}@${this.host};transport=ws`;
    this.callId = token(12);
    this.cseq = 0;
    this.waiting = undefined;
    this.stats = { invites: 0, answered: 0, byes: 0 };
  }

  /** Open the WebSocket with the sip subprotocol. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = (this.ws = new WebSocket(this.url, 'sip', { perMessageDeflate: false }));
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.on('message', (data) => this.onMessage(data.toString('utf8')));
    });
  }

  onMessage(text) {
    if (text.startsWith('SIP/2.0')) {
      const w = this.waiting;
      const status = statusOf(text);
      if (w !== undefined && status >= 200) {
        this.waiting = undefined;
        w(text);
      }
      return;
    }
    const method = /^([A-Z]+) /.exec(text)?.[1];
    if (method === 'INVITE') {
      this.stats.invites++;
      this.stats.answered++;
      this.ws.send(responseTo(text, 200, 'OK', token(4), [`Contact: <${this.contact}>`, 'Content-Type: application/sdp'], SDP));
    } else if (method === 'BYE') {
      this.stats.byes++;
      this.ws.send(responseTo(text, 200, 'OK', token(4)));
    } else if (method !== 'ACK') {
      this.ws.send(responseTo(text, 200, 'OK', token(4)));
    }
  }

  request(authorization, expires) {
    this.cseq++;
    const uri = `sip:${this.domain}`;
    const lines = [
      `REGISTER ${uri} SIP/2.0`,
      `Via: SIP/2.0/WS ${this.host};branch=z9hG4bK${token(8)}`,
      'Max-Forwards: 70',
      `From: <sip:${this.identity}@${this.domain}>;tag=${token(4)}`,
      `To: <sip:${this.identity}@${this.domain}>`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${this.cseq} REGISTER`,
      `Contact: <${this.contact}>;expires=${expires}`,
      ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
      'Content-Length: 0',
      '',
      '',
    ];
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to REGISTER for ${this.identity}`)), 10_000);
      this.waiting = (text) => {
        clearTimeout(timer);
        resolve(text);
      };
      this.ws.send(lines.join('\r\n'));
    });
  }

  /** REGISTER, answering the 401 with MD5 digest; resolves with the final status. */
  async register(expires = 3600) {
    const first = await this.request(undefined, expires);
    if (statusOf(first) !== 401) return statusOf(first);
    const challenge = header(first, 'WWW-Authenticate');
    const realm = param(challenge, 'realm');
    const nonce = param(challenge, 'nonce');
    const opaque = param(challenge, 'opaque');
    const uri = `sip:${this.domain}`;
    const cnonce = token(4);
    const nc = '00000001';
    const ha1 = md5(`${this.identity}:${realm}:${this.password}`);
    const ha2 = md5(`REGISTER:${uri}`);
    const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    const auth = `Digest username="${this.identity}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, opaque="${opaque}", qop=auth, nc=${nc}, cnonce="${cnonce}"`;
    return statusOf(await this.request(auth, expires));
  }

  close() {
    this.ws?.terminate();
  }
}
