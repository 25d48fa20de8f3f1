/**
 * SIP extensions (option tags) trunkgate supports: none. No 100rel (PRACK),
 * no session timers (the provider does not do them, SPEC §5).
 */

/** Option tags we support. */
export const SUPPORTED_OPTIONS: readonly string[] = [];

/** The option tags of a Require header we do not support (RFC 3261 §8.2.2.3): answer 420 with them in Unsupported. */
export function unsupportedRequired(required: readonly string[]): string[] {
  return required.filter((tag) => !SUPPORTED_OPTIONS.includes(tag));
}

/**
 * The methods trunkgate takes in a call, as it advertises them in `Allow`
 * (RFC 3261 §20.5): one definition for every response that carries it.
 * REFER is taken in a call (the trunk's transferMode decides whether it is
 * allowed: 403 when not, never 405).
 */
export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, REFER';
