/** Connection ids, unique across every connection-oriented transport of a process (a flow names one). */
let next = 1;

export function nextConnectionId(): number {
  return next++;
}
