/**
 * An HTTPS emulator of Proxmox VE's datacenter IPSet API (`/api2/json/cluster/firewall/ipset`),
 * written from /work/shared/reference/proxmox-firewall.md §3. Its state is a cluster.fw TEXT:
 * every write takes a lock, parses the text the way pve-firewall does, changes it and writes
 * the whole file back the way Proxmox does (§2.8: sections reordered, `#` comment lines lost,
 * entries sorted), so tests see the same rewrites a real cluster makes.
 *
 * Listens on 127.0.0.1, port 0, with a self-signed certificate made per run by `openssl`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import ipaddr from 'ipaddr.js';
import { parseHeader, trimH } from '../../controller/targets/pve/fw-text.js';
import { tmpDir } from './tmp.js';

export interface TokenGrant {
  secret: string;
  /** e.g. ['Sys.Audit', 'Sys.Modify'] */
  privs: string[];
}

export interface EmulatorOptions {
  /** token id `user@realm!name` → secret and privileges on `/` */
  tokens?: Record<string, TokenGrant>;
  /** Proxmox delays a failed authentication by ~3 s; keep it small in tests */
  authFailDelayMs?: number;
  /** time each write holds the cluster lock (parse + write + replicate on a real cluster) */
  writeCostMs?: number;
  /** a write waiting longer than this for the lock fails with Proxmox's lock-timeout 500 */
  lockTimeoutMs?: number;
  /** initial cluster.fw */
  clusterFw?: string;
}

export interface Fault {
  /**
   * echo401/echo500: a careless API or proxy answering with the caller's token secret in the
   * status line and the body; echoHeader: the secret in response headers of a 500.
   */
  kind: 'status500' | 'reset' | 'slow' | 'echo401' | 'echo500' | 'echoHeader' | 'answer';
  /** how many matching requests it hits */
  times: number;
  /** only requests of this method */
  method?: string;
  /** for `slow` */
  delayMs?: number;
  /** for `answer`: this raw body (and status, default 200) instead of the real answer: a broken proxy, a truncated reply */
  body?: string;
  status?: number;
}

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, string>) {
    super(message);
  }
}

// ---- the Proxmox model: parse cluster.fw like pve-firewall, write it like save_clusterfw_conf ----

interface PveEntry { cidr: string; nomatch?: boolean; comment?: string }
interface PveSet { name: string; comment?: string; entries: PveEntry[] }
export interface PveConf {
  options: Map<string, string>;
  aliases: Map<string, { name: string; cidr: string; comment?: string }>;
  ipsets: Map<string, PveSet>;
  rules: string[];
  groups: Map<string, { comment?: string; rules: string[] }>;
}

export function parseClusterFw(text: string): PveConf {
  const conf: PveConf = { options: new Map(), aliases: new Map(), ipsets: new Map(), rules: [], groups: new Map() };
  let section: { kind: string; name?: string } | undefined;
  for (const raw of text.split('\n')) {
    const line = trimH(raw);
    if (line === '' || line.startsWith('#')) continue;
    const header = parseHeader(line);
    if (header) {
      section = header;
      const comment = /#\s*(.*?)\s*$/.exec(line)?.[1];
      if (header.kind === 'ipset') conf.ipsets.set(header.name!, { name: header.name!, ...(comment ? { comment } : {}), entries: [] });
      if (header.kind === 'group') conf.groups.set(header.name!, { ...(comment ? { comment } : {}), rules: [] });
      continue;
    }
    if (!section) continue;
    if (section.kind === 'options') {
      const m = /^([a-z_]+):\s*(.*\S)\s*$/i.exec(line);
      if (m) conf.options.set(m[1]!.toLowerCase(), m[2]!);
    } else if (section.kind === 'aliases') {
      const m = /^(\S+)\s(\S+)\s*(?:#\s*(.*?)\s*)?$/.exec(line);
      if (m) conf.aliases.set(m[1]!.toLowerCase(), { name: m[1]!.toLowerCase(), cidr: m[2]!, ...(m[3] ? { comment: m[3] } : {}) });
    } else if (section.kind === 'ipset') {
      conf.ipsets.get(section.name!)!.entries.push(parseEntry(line));
    } else if (section.kind === 'rules') {
      conf.rules.push(line);
    } else {
      conf.groups.get(section.name!)!.rules.push(line);
    }
  }
  return conf;
}

function parseEntry(line: string): PveEntry {
  const hash = line.indexOf('#');
  const body = (hash === -1 ? line : line.slice(0, hash)).trim();
  const comment = hash === -1 ? undefined : line.slice(hash + 1).trim();
  const m = /^(!)?\s*(\S+)$/.exec(body);
  const token = m?.[2] ?? '';
  const entry: PveEntry = { cidr: token.replace(token.includes(':') ? /\/128$/ : /\/32$/, '') };
  if (m?.[1]) entry.nomatch = true;
  if (comment) entry.comment = comment;
  return entry;
}

/** Proxmox's writer: OPTIONS, ALIASES, IPSETs by name, RULES, groups; comment lines gone. */
export function formatClusterFw(conf: PveConf): string {
  let out = '';
  if (conf.options.size > 0) {
    out += '[OPTIONS]\n\n' + [...conf.options].sort().map(([k, v]) => `${k}: ${v}\n`).join('') + '\n';
  }
  if (conf.aliases.size > 0) {
    out += '[ALIASES]\n\n' + [...conf.aliases.values()].sort((a, b) => cmp(a.name, b.name))
      .map((a) => `${a.name} ${a.cidr}${a.comment ? ` # ${a.comment}` : ''}\n`).join('') + '\n';
  }
  for (const set of [...conf.ipsets.values()].sort((a, b) => cmp(a.name, b.name))) {
    out += `[IPSET ${set.name}]${set.comment ? ` # ${set.comment}` : ''}\n\n`;
    const byCidr = new Map(set.entries.map((e) => [e.cidr, e]));
    for (const cidr of [...byCidr.keys()].sort(cmp)) {
      const e = byCidr.get(cidr)!;
      out += `${e.nomatch ? '!' : ''}${e.cidr}${e.comment ? ` # ${e.comment}` : ''}\n`;
    }
    out += '\n';
  }
  if (conf.rules.length > 0) out += '[RULES]\n\n' + conf.rules.map((r) => `${r}\n`).join('') + '\n';
  for (const [name, g] of [...conf.groups].sort((a, b) => cmp(a[0], b[0]))) {
    out += `[group ${name}]${g.comment ? ` # ${g.comment}` : ''}\n\n` + g.rules.map((r) => `${r}\n`).join('') + '\n';
  }
  return out;
}

/** What any API write or GUI edit does to the file. */
export function proxmoxRewrite(text: string): string {
  return formatClusterFw(parseClusterFw(text));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** FW copy_list_with_digest: SHA-1 over `key:value\n` of each item's defined scalar fields, keys sorted. */
export function listDigest(items: object[]): string {
  const sha = createHash('sha1');
  for (const item of items) {
    for (const [k, v] of Object.entries(item).sort((a, b) => cmp(a[0], b[0]))) {
      if (v !== undefined && typeof v !== 'object') sha.update(`${k}:${v}\n`, 'utf8');
    }
  }
  return sha.digest('hex');
}

const apiEntry = (e: PveEntry): Record<string, unknown> => ({ cidr: e.cidr, ...(e.comment ? { comment: e.comment } : {}), ...(e.nomatch ? { nomatch: 1 } : {}) });

// ---- the server ----

export class PveEmulator {
  /** every request seen: method and path (with query) */
  readonly requests: { method: string; path: string }[] = [];
  clusterFw: string;
  url = '';
  fingerprint256 = '';
  caFile = '';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly faults: Fault[] = [];
  private lock: Promise<void> = Promise.resolve();
  private writesInFlight = 0;
  /** highest number of writes seen inside the lock at once (must stay 1) */
  maxConcurrentWrites = 0;
  /** writes refused with the lock-timeout 500 */
  lockTimeouts = 0;

  constructor(private readonly opts: EmulatorOptions = {}) {
    this.clusterFw = opts.clusterFw ?? '[OPTIONS]\n\nenable: 1\n\n';
  }

  static async start(opts: EmulatorOptions = {}): Promise<PveEmulator> {
    const emu = new PveEmulator(opts);
    await emu.listen();
    return emu;
  }

  inject(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  count(method: string): number {
    return this.requests.filter((r) => r.method === method).length;
  }

  private async listen(): Promise<void> {
    const dir = tmpDir('f2g-pve-emu');
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'pipe' });
    const pem = readFileSync(cert, 'utf8');
    this.caFile = cert;
    this.fingerprint256 = new X509Certificate(pem).fingerprint256;
    this.server = createServer({ key: readFileSync(key), cert: pem }, (req, res) => void this.handle(req, res));
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('emulator: no port');
    this.url = `https://127.0.0.1:${addr.port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private takeFault(method: string): Fault | undefined {
    const f = this.faults.find((x) => x.times > 0 && (!x.method || x.method === method));
    if (f) f.times--;
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: req.url ?? '' });
    const body = await readBody(req);
    try {
      const fault = this.takeFault(method);
      if (fault?.kind === 'reset') return void req.socket.destroy();
      if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 500);
      if (fault?.kind === 'status500') throw new ApiError(500, 'emulated internal server error');
      if (fault?.kind === 'echo401' || fault?.kind === 'echo500' || fault?.kind === 'echoHeader') return echoSecret(req, res, fault.kind);
      if (fault?.kind === 'answer') {
        res.writeHead(fault.status ?? 200, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(fault.body ?? '') });
        return void res.end(fault.body ?? '');
      }
      const grant = await this.authenticate(req);
      if ((method === 'GET' || method === 'DELETE') && body.length > 0) throw new ApiError(501, `Unexpected content for method '${method}'`);
      const need = method === 'GET' ? 'Sys.Audit' : 'Sys.Modify';
      if (!grant.privs.includes(need)) throw new ApiError(403, `Permission check failed (/, ${need})`);
      const url = new URL(req.url ?? '/', 'https://x');
      const params = { ...Object.fromEntries(url.searchParams), ...parseBody(req, body) };
      const data = await this.route(method, url.pathname, params);
      send(res, 200, 'OK', { data });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, String((err as Error).message ?? err));
      send(res, e.status, e.message.split('\n')[0]!, { data: null, message: `${e.message}\n`, ...(e.errors ? { errors: e.errors } : {}) });
    }
  }

  private async authenticate(req: IncomingMessage): Promise<TokenGrant> {
    const header = req.headers.authorization ?? '';
    const m = /^PVEAPIToken=(.+)$/.exec(header);
    if (m) {
      const value = decodeURIComponent(m[1]!);
      const eq = value.lastIndexOf('=');
      const grant = this.opts.tokens?.[value.slice(0, eq)];
      if (eq > 0 && grant && grant.secret === value.slice(eq + 1)) return grant;
    }
    await sleep(this.opts.authFailDelayMs ?? 3000);
    throw new ApiError(401, 'Authentication failed!');
  }

  private async route(method: string, pathname: string, p: Record<string, string>): Promise<unknown> {
    const prefix = '/api2/json/cluster/firewall/ipset';
    if (!pathname.startsWith(prefix)) throw new ApiError(501, `Method '${method} ${pathname}' not implemented`);
    const rest = pathname.slice(prefix.length).replace(/^\//, '');
    const slash = rest.indexOf('/');
    const name = decodeURIComponent(slash === -1 ? rest : rest.slice(0, slash));
    const cidr = slash === -1 ? undefined : decodeURIComponent(rest.slice(slash + 1));
    if (name === '') {
      if (method === 'GET') return this.listSets();
      if (method === 'POST') return this.write((c) => createSet(c, p));
    } else if (cidr === undefined) {
      if (method === 'GET') return this.readSet(name);
      if (method === 'POST') return this.write((c) => createIp(c, name, p));
      if (method === 'DELETE') return this.write((c) => deleteSet(c, name, p));
    } else {
      if (method === 'GET') return this.readIp(name, cidr);
      if (method === 'PUT') return this.write((c) => updateIp(c, name, cidr, p));
      if (method === 'DELETE') return this.write((c) => removeIp(c, name, cidr, p));
    }
    throw new ApiError(501, `Method '${method} ${pathname}' not implemented`);
  }

  private listSets(): unknown {
    const sets = [...parseClusterFw(this.clusterFw).ipsets.values()].sort((a, b) => cmp(a.name, b.name))
      .map((s) => ({ name: s.name, ...(s.comment ? { comment: s.comment } : {}) }));
    const digest = listDigest(sets);
    return sets.map((s) => ({ ...s, digest }));
  }

  private readSet(name: string): unknown {
    const items = getSet(parseClusterFw(this.clusterFw), name).entries.map(apiEntry);
    const digest = listDigest(items);
    return items.map((i) => ({ ...i, digest }));
  }

  private readIp(name: string, cidr: string): unknown {
    const items = getSet(parseClusterFw(this.clusterFw), name).entries.map(apiEntry);
    const found = items.find((i) => i.cidr === cidr);
    if (!found) throw new ApiError(400, 'Parameter verification failed.', { cidr: 'no such IP/Network' });
    return { ...found, digest: listDigest(items) };
  }

  /** lock → parse → change → format → unlock, serialised like pmxcfs's cluster lock */
  private async write(change: (conf: PveConf) => void): Promise<null> {
    const prev = this.lock;
    let release!: () => void;
    this.lock = new Promise<void>((r) => (release = r));
    const timeout = this.opts.lockTimeoutMs ?? 10_000;
    const got = await Promise.race([prev.then(() => true), sleep(timeout).then(() => false)]);
    if (!got) {
      void prev.then(release);
      this.lockTimeouts++;
      throw new ApiError(500, "cfs-lock 'firewall-cluster' error: got lock request timeout");
    }
    this.writesInFlight++;
    this.maxConcurrentWrites = Math.max(this.maxConcurrentWrites, this.writesInFlight);
    try {
      await sleep(this.opts.writeCostMs ?? 0);
      const conf = parseClusterFw(this.clusterFw);
      change(conf);
      this.clusterFw = formatClusterFw(conf);
      return null;
    } finally {
      this.writesInFlight--;
      release();
    }
  }
}

// ---- handlers (each runs under the lock on a freshly parsed config) ----

function getSet(conf: PveConf, name: string): PveSet {
  const set = conf.ipsets.get(name.toLowerCase());
  if (!set || set.name !== name) throw new ApiError(500, `no such IPSet '${name}'`);
  return set;
}

function checkDigest(items: object[], digest: string | undefined): void {
  if (digest !== undefined && digest !== listDigest(items)) {
    throw new ApiError(500, 'detected modified configuration - file changed by other user? Try again.');
  }
}

function createSet(conf: PveConf, p: Record<string, string>): void {
  const name = p.name ?? '';
  if (!/^[A-Za-z][A-Za-z0-9\-_]+$/.test(name) || name.length > 64) throw new ApiError(400, 'Parameter verification failed.', { name: 'invalid format' });
  if (conf.ipsets.has(name)) throw new ApiError(400, 'Parameter verification failed.', { name: `IPSet '${name}' already exists` });
  conf.ipsets.set(name, { name, ...(p.comment ? { comment: p.comment } : {}), entries: [] });
}

function deleteSet(conf: PveConf, name: string, p: Record<string, string>): void {
  const set = getSet(conf, name);
  if (set.entries.length > 0 && p.force !== '1') throw new ApiError(500, `IPSet '${name}' is not empty`);
  conf.ipsets.delete(name);
}

function createIp(conf: PveConf, name: string, p: Record<string, string>): void {
  const set = getSet(conf, name);
  const cidr = normaliseCidr(conf, p.cidr ?? '');
  if (set.entries.some((e) => e.cidr === cidr)) throw new ApiError(400, 'Parameter verification failed.', { cidr: `address '${cidr}' already exists` });
  set.entries.unshift({ cidr, ...(p.nomatch === '1' ? { nomatch: true } : {}), ...(p.comment ? { comment: p.comment } : {}) });
}

function updateIp(conf: PveConf, name: string, cidr: string, p: Record<string, string>): void {
  const set = getSet(conf, name);
  checkDigest(set.entries.map(apiEntry), p.digest);
  const e = set.entries.find((x) => x.cidr === cidr);
  if (!e) throw new ApiError(400, 'Parameter verification failed.', { cidr: 'no such IP/Network' });
  e.nomatch = p.nomatch === '1' ? true : undefined;
  e.comment = p.comment || undefined;
}

function removeIp(conf: PveConf, name: string, cidr: string, p: Record<string, string>): void {
  const set = getSet(conf, name);
  checkDigest(set.entries.map(apiEntry), p.digest);
  // exact string compare; an unknown spelling "succeeds" and changes nothing, as in Proxmox
  set.entries = set.entries.filter((e) => e.cidr !== cidr);
}

/** create_ip: alias, or address with optional prefix; clean_cidr masks and compresses only when a prefix is given. */
function normaliseCidr(conf: PveConf, text: string): string {
  const bad = (msg: string): never => { throw new ApiError(400, 'Parameter verification failed.', { cidr: msg }); };
  const alias = /^(dc\/|guest\/)?([A-Za-z][A-Za-z0-9\-_]+)$/.exec(text);
  if (alias) {
    if (!conf.aliases.has(alias[2]!.toLowerCase())) throw new ApiError(500, `no such alias '${text}'`);
    return text;
  }
  const [addr = '', prefix] = text.split('/');
  const v4 = ipaddr.IPv4.isValidFourPartDecimal(addr);
  if (!v4 && !(addr.includes(':') && ipaddr.IPv6.isValid(addr))) bad(`value '${text}' does not look like a valid IP address or CIDR network`);
  if (prefix === undefined) return text;
  const bits = v4 ? 32 : 128;
  if (!/^\d+$/.test(prefix) || Number(prefix) > bits) bad(`Prefix length ${prefix} is longer than IP address (${bits})`);
  if (Number(prefix) === 0) bad('a zero prefix is not allowed in ipset entries');
  const net = ipaddr.parseCIDR(`${addr}/${prefix}`);
  const masked = (v4 ? ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`) : ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`)).toString();
  return net[1] === bits ? masked : `${masked}/${net[1]}`;
}

// ---- plumbing ----

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

function parseBody(req: IncomingMessage, body: string): Record<string, string> {
  if (body === '') return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    const json = JSON.parse(body) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(body));
}

/** Answers with the secret of the request's token where a careless server would put it. */
function echoSecret(req: IncomingMessage, res: ServerResponse, kind: 'echo401' | 'echo500' | 'echoHeader'): void {
  const header = req.headers.authorization ?? '';
  const value = decodeURIComponent(header.replace(/^PVEAPIToken=/, ''));
  const secret = value.slice(value.lastIndexOf('=') + 1);
  if (kind === 'echoHeader') {
    const text = JSON.stringify({ data: null, message: 'upstream failed\n' });
    res.writeHead(500, 'upstream failed', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-echo-authorization': header, 'x-echo-secret': secret });
    return void res.end(text);
  }
  const status = kind === 'echo401' ? 401 : 500;
  send(res, status, `token ${secret} rejected`, { data: null, message: `token ${value} rejected: secret ${secret} is not valid here (got header ${header})\n`, errors: { token: secret } });
}

function send(res: ServerResponse, status: number, reason: string, payload: unknown): void {
  const text = JSON.stringify(payload);
  res.writeHead(status, reason.replace(/[^\x20-\x7e]/g, ' '), { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
