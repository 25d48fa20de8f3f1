/**
 * Transaction timer values (RFC 3261 §17 and Table 4, RFC 6026 §8.4).
 * T1, T2 and T4 are configurable; every other timer derives from them. On a
 * reliable transport the retransmission timers (A, E, G) are not used and the
 * wait timers D, I, J and K are zero.
 */
export interface TimerConfig {
  /** RTT estimate. Default 500 ms. */
  t1Ms: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses. Default 4000 ms. */
  t2Ms: number;
  /** Maximum duration a message will remain in the network. Default 5000 ms. */
  t4Ms: number;
}

export const DEFAULT_TIMERS: Readonly<TimerConfig> = { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 };

/** The §17 timers a transaction needs, for one transport. */
export interface TransactionTimers {
  /** INVITE request retransmit (unreliable only): initially T1, doubles. */
  A: number;
  /** INVITE transaction timeout: 64*T1. */
  B: number;
  /** Wait for response retransmits: ≥32 s unreliable, 0 reliable. */
  D: number;
  /** Non-INVITE request retransmit (unreliable only): initially T1, doubles up to T2. */
  E: number;
  /** Non-INVITE transaction timeout: 64*T1. */
  F: number;
  /** INVITE response retransmit (unreliable only): initially T1, doubles up to T2. */
  G: number;
  /** Wait for ACK receipt: 64*T1. */
  H: number;
  /** Wait for ACK retransmits: T4 unreliable, 0 reliable. */
  I: number;
  /** Wait for non-INVITE request retransmits: 64*T1 unreliable, 0 reliable. */
  J: number;
  /** Wait for response retransmits: T4 unreliable, 0 reliable. */
  K: number;
  /** RFC 6026: wait for INVITE request retransmits in Accepted state: 64*T1. */
  L: number;
  /** RFC 6026: wait for 2xx retransmits in Accepted state: 64*T1. */
  M: number;
  /** Cap on the doubling of E and G. */
  T2: number;
  reliable: boolean;
}

const memo = new WeakMap<TimerConfig, { reliable: TransactionTimers; unreliable: TransactionTimers }>();

/** The timers for a transport kind; one shared (frozen) object per config and kind. */
export function timersFor(config: TimerConfig, reliable: boolean): TransactionTimers {
  let entry = memo.get(config);
  if (entry === undefined) {
    entry = { reliable: Object.freeze(computeTimers(config, true)), unreliable: Object.freeze(computeTimers(config, false)) };
    memo.set(config, entry);
  }
  return reliable ? entry.reliable : entry.unreliable;
}

function computeTimers(config: TimerConfig, reliable: boolean): TransactionTimers {
  const { t1Ms, t2Ms, t4Ms } = config;
  return {
    A: t1Ms,
    B: 64 * t1Ms,
    D: reliable ? 0 : Math.max(32_000, 64 * t1Ms),
    E: t1Ms,
    F: 64 * t1Ms,
    G: t1Ms,
    H: 64 * t1Ms,
    I: reliable ? 0 : t4Ms,
    J: reliable ? 0 : 64 * t1Ms,
    K: reliable ? 0 : t4Ms,
    L: 64 * t1Ms,
    M: 64 * t1Ms,
    T2: t2Ms,
    reliable,
  };
}
