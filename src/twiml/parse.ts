/**
 * TwiML for voice (SPEC §10): the document an application returns, parsed
 * into the verbs trunkgate executes. XML is read by `fast-xml-parser`
 * (maintained, no native code, its validator reports well-formedness errors
 * with line and column, and `preserveOrder` keeps the verbs in document
 * order, which TwiML needs); nothing here parses XML by hand.
 *
 * A document that is not well-formed XML, or whose root is not `<Response>`,
 * fails with the provider's 12100 "Document parse failure". Verbs and nouns
 * trunkgate does not execute, misspelled ones (TwiML is case-sensitive) and
 * bad attribute values are warnings (12200 "Schema validation warning",
 * 13910 for `<Pause length>`): the verb is skipped or the default used, as
 * the provider does.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type HttpMethod = 'GET' | 'POST';

export type DialNoun =
  | { kind: 'number'; number: string }
  | { kind: 'sip'; uri: string }
  | { kind: 'client'; identity: string }
  | {
      kind: 'conference';
      name: string;
      /** 2-250, default 250: the room's size when this participant makes it. */
      maxParticipants: number;
      startConferenceOnEnter: boolean;
      endConferenceOnExit: boolean;
      muted: boolean;
      label: string | undefined;
    };

export type TwimlVerb =
  | { verb: 'Say'; text: string; loop: number }
  | { verb: 'Play'; url: string; loop: number }
  | { verb: 'Pause'; lengthSeconds: number }
  | { verb: 'Hangup' }
  | { verb: 'Reject'; reason: 'rejected' | 'busy' }
  | { verb: 'Redirect'; url: string; method: HttpMethod }
  | {
      verb: 'Dial';
      /** Ring time for the dialled party (default 30 s, 5–600). */
      timeoutSeconds: number;
      /** Longest the bridged call may last (default 14400 s). */
      timeLimitSeconds: number;
      callerId: string | undefined;
      action: string | undefined;
      method: HttpMethod;
      nouns: DialNoun[];
    };

export interface TwimlWarning {
  /** 12200 (schema) or 13910 (`<Pause length>`). */
  code: 12200 | 13910;
  detail: string;
}

export type TwimlParseResult = { ok: true; verbs: TwimlVerb[]; warnings: TwimlWarning[] } | { ok: false; detail: string };

/** What a `preserveOrder` parse yields: one key per element (its children), `:@` its attributes, `#text` text. */
type OrderedNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: '#comment',
});

/** Verbs of the provider's TwiML that trunkgate knows but does not execute: skipped with a 12200 warning. */
const NOT_EMULATED = new Set(['Gather', 'Record', 'Enqueue', 'Leave', 'Connect', 'Stream', 'Start', 'Stop', 'Pay', 'Prompt', 'Refer', 'Sms', 'Message', 'Echo', 'Queue']);
const DIAL_NOUNS_NOT_EMULATED = new Set(['Queue', 'Application', 'WhatsApp', 'Sim']);

function nameOf(node: OrderedNode): string | undefined {
  for (const key of Object.keys(node)) if (key !== ':@') return key;
  return undefined;
}

function childrenOf(node: OrderedNode, name: string): OrderedNode[] {
  const c = node[name];
  return Array.isArray(c) ? (c as OrderedNode[]) : [];
}

function attrsOf(node: OrderedNode): Record<string, string> {
  const a = node[':@'];
  return typeof a === 'object' && a !== null ? (a as Record<string, string>) : {};
}

/** The text content of an element (its direct text children, joined). */
function textOf(children: OrderedNode[]): string {
  return children
    .map((c) => (typeof c['#text'] === 'string' ? c['#text'] : typeof c['#text'] === 'number' ? String(c['#text']) : ''))
    .join(' ')
    .trim();
}

function intAttr(value: string | undefined, fallback: number, min: number, max: number): { value: number; bad: boolean } {
  if (value === undefined) return { value: fallback, bad: false };
  if (!/^\d+$/.test(value.trim())) return { value: fallback, bad: true };
  const n = Number(value);
  return { value: Math.min(max, Math.max(min, n)), bad: n < min || n > max };
}

function methodAttr(value: string | undefined, warnings: TwimlWarning[], where: string): HttpMethod {
  if (value === undefined) return 'POST';
  const m = value.toUpperCase();
  if (m === 'GET' || m === 'POST') return m;
  warnings.push({ code: 12200, detail: `${where} method="${value}" is not GET or POST; POST is used` });
  return 'POST';
}

/** Parse a TwiML voice document. Never throws. */
export function parseTwiml(text: string): TwimlParseResult {
  if (text.trim().length === 0) return { ok: false, detail: 'the document is empty' };
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { ok: false, detail: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})` };
  let doc: OrderedNode[];
  try {
    doc = parser.parse(text) as OrderedNode[];
  } catch (err) {
    return { ok: false, detail: `not well-formed XML: ${(err as Error).message}` };
  }
  const roots = doc.filter((n) => {
    const name = nameOf(n);
    return name !== undefined && name !== '#comment' && name !== '#text';
  });
  const root = roots[0];
  if (roots.length !== 1 || root === undefined || nameOf(root) !== 'Response') {
    return { ok: false, detail: `the root element must be <Response> (found ${roots.map((r) => `<${nameOf(r) ?? '?'}>`).join(', ') || 'none'})` };
  }
  const warnings: TwimlWarning[] = [];
  const verbs: TwimlVerb[] = [];
  for (const node of childrenOf(root, 'Response')) {
    const name = nameOf(node);
    if (name === undefined || name === '#comment') continue;
    if (name === '#text') {
      warnings.push({ code: 12200, detail: 'text directly inside <Response> is ignored' });
      continue;
    }
    const verb = readVerb(name, node, warnings);
    if (verb !== undefined) verbs.push(verb);
  }
  return { ok: true, verbs, warnings };
}

function readVerb(name: string, node: OrderedNode, warnings: TwimlWarning[]): TwimlVerb | undefined {
  const attrs = attrsOf(node);
  const children = childrenOf(node, name);
  switch (name) {
    case 'Say':
      return { verb: 'Say', text: textOf(children), loop: loopAttr(attrs['loop'], warnings, '<Say>') };
    case 'Play':
      return { verb: 'Play', url: textOf(children), loop: loopAttr(attrs['loop'], warnings, '<Play>') };
    case 'Pause': {
      const length = intAttr(attrs['length'], 1, 1, 86_400);
      if (length.bad) warnings.push({ code: 13910, detail: `<Pause length="${attrs['length'] ?? ''}">: expected a whole number of seconds above 0; ${length.value} is used` });
      return { verb: 'Pause', lengthSeconds: length.value };
    }
    case 'Hangup':
      return { verb: 'Hangup' };
    case 'Reject': {
      const reason = attrs['reason'] ?? 'rejected';
      if (reason !== 'rejected' && reason !== 'busy') warnings.push({ code: 12200, detail: `<Reject reason="${reason}">: expected rejected or busy; rejected is used` });
      return { verb: 'Reject', reason: reason === 'busy' ? 'busy' : 'rejected' };
    }
    case 'Redirect': {
      const url = textOf(children);
      if (url.length === 0) {
        warnings.push({ code: 12200, detail: '<Redirect> without a URL is skipped' });
        return undefined;
      }
      return { verb: 'Redirect', url, method: methodAttr(attrs['method'], warnings, '<Redirect>') };
    }
    case 'Dial':
      return readDial(attrs, children, warnings);
    default:
      if (NOT_EMULATED.has(name)) warnings.push({ code: 12200, detail: `<${name}> is not emulated by trunkgate; skipped` });
      else warnings.push({ code: 12200, detail: `<${name}> is not a TwiML voice verb (TwiML is case-sensitive); skipped` });
      return undefined;
  }
}

function loopAttr(value: string | undefined, warnings: TwimlWarning[], where: string): number {
  if (value === undefined) return 1;
  const loop = intAttr(value, 1, 0, 1000);
  if (loop.bad) warnings.push({ code: 12200, detail: `${where} loop="${value}": expected a whole number ≥ 0; 1 is used` });
  // loop="0" repeats "indefinitely" at the provider (up to 1000 times)
  return loop.value === 0 ? 1000 : loop.value;
}

function readDial(attrs: Record<string, string>, children: OrderedNode[], warnings: TwimlWarning[]): TwimlVerb {
  const timeout = intAttr(attrs['timeout'], 30, 5, 600);
  if (timeout.bad) warnings.push({ code: 12200, detail: `<Dial timeout="${attrs['timeout'] ?? ''}">: expected 5-600 seconds; ${timeout.value} is used` });
  const timeLimit = intAttr(attrs['timeLimit'], 14_400, 1, 86_400);
  if (timeLimit.bad) warnings.push({ code: 12200, detail: `<Dial timeLimit="${attrs['timeLimit'] ?? ''}">: expected seconds above 0; ${timeLimit.value} is used` });
  const nouns: DialNoun[] = [];
  const bare = textOf(children);
  for (const child of children) {
    const name = nameOf(child);
    if (name === undefined || name === '#text' || name === '#comment') continue;
    const text = textOf(childrenOf(child, name));
    switch (name) {
      case 'Number':
        nouns.push({ kind: 'number', number: text });
        break;
      case 'Sip':
        nouns.push({ kind: 'sip', uri: text });
        break;
      case 'Client': {
        // <Client>alice</Client> or <Client><Identity>alice</Identity></Client>
        const identityNode = childrenOf(child, name).find((c) => nameOf(c) === 'Identity');
        nouns.push({ kind: 'client', identity: identityNode === undefined ? text : textOf(childrenOf(identityNode, 'Identity')) });
        break;
      }
      case 'Conference':
        nouns.push(readConference(text, attrsOf(child), warnings));
        break;
      default:
        warnings.push({
          code: 12200,
          detail: DIAL_NOUNS_NOT_EMULATED.has(name) ? `<Dial><${name}> is not emulated by trunkgate; skipped` : `<Dial><${name}> is not a <Dial> noun; skipped`,
        });
    }
  }
  if (bare.length > 0) nouns.unshift({ kind: 'number', number: bare });
  return {
    verb: 'Dial',
    timeoutSeconds: timeout.value,
    timeLimitSeconds: timeLimit.value,
    callerId: attrs['callerId'],
    action: attrs['action'],
    method: methodAttr(attrs['method'], warnings, '<Dial>'),
    nouns,
  };
}

function boolAttr(value: string | undefined, fallback: boolean, warnings: TwimlWarning[], where: string): boolean {
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  warnings.push({ code: 12200, detail: `${where}="${value}": expected true or false; ${String(fallback)} is used` });
  return fallback;
}

/** `<Conference>` and the attributes trunkgate keeps (research §5.2-5.3); the others (waitUrl, beep, record, …) are read as no-ops. */
function readConference(name: string, attrs: Record<string, string>, warnings: TwimlWarning[]): DialNoun {
  const max = intAttr(attrs['maxParticipants'], 250, 2, 250);
  if (max.bad) warnings.push({ code: 12200, detail: `<Conference maxParticipants="${attrs['maxParticipants'] ?? ''}">: expected 2-250; ${max.value} is used` });
  const label = attrs['participantLabel'];
  return {
    kind: 'conference',
    name,
    maxParticipants: max.value,
    startConferenceOnEnter: boolAttr(attrs['startConferenceOnEnter'], true, warnings, '<Conference startConferenceOnEnter'),
    endConferenceOnExit: boolAttr(attrs['endConferenceOnExit'], false, warnings, '<Conference endConferenceOnExit'),
    muted: boolAttr(attrs['muted'], false, warnings, '<Conference muted'),
    label: label === undefined || label.length === 0 ? undefined : label,
  };
}
