import ipaddr from "ipaddr.js";

/**
 * Which destinations outgoing calls may reach. By default only public unicast addresses over
 * HTTPS: loopback, private, link-local (cloud metadata lives there), CGNAT, unique-local,
 * multicast, reserved, and v4-mapped / NAT64 / 6to4 / Teredo forms of them are refused.
 * `allow` lists host names or CIDR ranges exempt from that (the demo's backends, test servers).
 */
export interface EgressPolicy {
  allowHosts: string[];
  allowRanges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  allowHttp: boolean;
}

/** From EGRESS_ALLOW ("localhost,127.0.0.1,10.0.0.0/8") and EGRESS_ALLOW_HTTP ("true"). */
export function parsePolicy(env: {
  EGRESS_ALLOW?: string | undefined;
  EGRESS_ALLOW_HTTP?: string | undefined;
}): EgressPolicy {
  const entries = (env.EGRESS_ALLOW ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const allowRanges: EgressPolicy["allowRanges"] = [];
  const allowHosts: string[] = [];
  for (const entry of entries) {
    if (entry.includes("/")) allowRanges.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) allowRanges.push([ipaddr.parse(entry), entry.includes(":") ? 128 : 32]);
    else allowHosts.push(entry.toLowerCase());
  }
  return { allowHosts, allowRanges, allowHttp: env.EGRESS_ALLOW_HTTP === "true" };
}

/** Why an address may not be reached, or null when it may. */
export function refusal(address: string, policy: EgressPolicy): string | null {
  if (!ipaddr.isValid(address)) return `not an IP address: ${address}`;
  let ip = ipaddr.parse(address);
  // ::ffff:10.0.0.1 is 10.0.0.1, and so is the deprecated IPv4-compatible ::10.0.0.1 (::a00:1),
  // which ipaddr.js calls unicast: judge the IPv4 address either carries. (:: and ::1 stay as they are.)
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    const compatible = v6.parts.slice(0, 6).every((part) => part === 0) && v6.parts[6] !== 0;
    if (v6.isIPv4MappedAddress() || compatible) ip = ipaddr.fromByteArray(v6.toByteArray().slice(12));
  }
  for (const [range, bits] of policy.allowRanges) {
    if (range.kind() === ip.kind() && ip.match(range, bits)) return null;
  }
  const kind = ip.range();
  return kind === "unicast" ? null : `${address} is a ${kind} address`;
}

export function hostAllowed(hostname: string, policy: EgressPolicy): boolean {
  return policy.allowHosts.includes(hostname.toLowerCase());
}
