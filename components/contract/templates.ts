/**
 * Settings text both sides read the same way: `{name}` templates (install and service commands,
 * binary paths) and `user@host:port` jump hosts. The program fills and checks them; the runner
 * fills them again on the hosts. Pure.
 */

/** A jump host `user@host:port` (user and port optional), or undefined when empty or malformed. */
export function parseBastion(
  bastion: string,
  defaultUser: string,
): { user: string; host: string; port: number } | undefined {
  const m = /^(?:([^@]+)@)?([^:]+)(?::(\d+))?$/.exec(bastion);
  return bastion && m
    ? { user: m[1] ?? defaultUser, host: m[2]!, port: Number(m[3] ?? 22) }
    : undefined;
}

/** Substitutes `{name}` placeholders. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}
