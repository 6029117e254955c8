/**
 * Kong's listener syntax (`proxy_listen`, `admin_listen`, `status_listen`): comma-separated
 * `<ip>:<port> [flags]` entries, or `off`.
 */
import { KongError } from "./cli/errors";

/** One parsed listener entry. */
export interface Listener {
  readonly ip: string;
  readonly port: number;
  /** `ssl` entries are parsed but the stand-in does not serve them (no certificates). */
  readonly ssl: boolean;
  /** The entry as written, for error messages and `GET /`. */
  readonly listener: string;
}

const FLAGS =
  /^(ssl|http2|proxy_protocol|deferred|bind|reuseport|backlog=\d+|ipv6only=(on|off)|so_keepalive=(on|off|\w*:\w*:\d*))$/;
const FORM =
  "[off] | <ip>:<port> [ssl] [http2] [proxy_protocol] [deferred] [bind] [reuseport] [backlog=%d+] [ipv6only=on] [ipv6only=off] [so_keepalive=on] [so_keepalive=off] [so_keepalive=%w*:%w*:%d*], [... next entry ...]";

/** Parses the entries of one listen setting; `off` anywhere means no listener. */
export function parseListeners(name: string, entries: readonly string[]): Listener[] {
  if (entries.some((e) => e === "off")) {
    return [];
  }
  return entries.map((entry) => {
    const [addr = "", ...flags] = entry.split(/\s+/);
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d+)$/.exec(addr);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535 || !flags.every((f) => FLAGS.test(f))) {
      throw new KongError(`${name} must be of form: ${FORM}`);
    }
    const ip = (m[1] ?? "").replace(/^\[|\]$/g, "");
    return { ip: ip === "*" ? "0.0.0.0" : ip, port, ssl: flags.includes("ssl"), listener: entry };
  });
}
