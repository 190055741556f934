/**
 * Lines the module prints on its own (protocol §1, "Unsolicited lines"). They can arrive at any time,
 * also in the middle of an answer, and are never part of one.
 */
const UNSOLICITED = [
  /^ready$/,
  /^Will force to restart!!!$/,
  /^WIFI (CONNECTED|GOT IP|GOT IPv6 (LL|GL)|DISCONNECT)/,
  /^(\d+,)?(CONNECT|CLOSED)$/,
  /^\+IPD/,
  /^\+(STA_CONNECTED|DIST_STA_IP|STA_DISCONNECTED|ETH_|MQTT|BLE|TIME_UPDATED|QUITT)/,
  /^NO (CERT|PRVT_KEY|CA) FOUND$/,
  /^Have \d+ Connections?$/,
  /^smartconfig/i,
];

/** `ready` (boot finished) or the restart notice: the module lost echo, SYSLOG and any data mode. */
export function isResetLine(line: string): boolean {
  return line === 'ready' || line === 'Will force to restart!!!';
}

export function isUnsolicitedLine(line: string): boolean {
  return UNSOLICITED.some((pattern) => pattern.test(line));
}
