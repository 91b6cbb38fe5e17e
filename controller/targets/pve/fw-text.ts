/**
 * Byte-preserving view of a Proxmox `.fw` file: lines, and sections split by the header
 * rules of pve-firewall's Perl parser (whole trimmed line, case-insensitive). Nothing here
 * interprets more than it must: callers change one section's lines and join them back,
 * so every other byte survives exactly. Pure; no I/O.
 */
import { TargetError } from '../../lib/errors.js';

export type SectionKind = 'options' | 'aliases' | 'rules' | 'ipset' | 'group';

export interface Header {
  kind: SectionKind;
  /** ipset/group name, lower-cased as Proxmox stores it */
  name?: string;
  /** text after `#` on an ipset/group header line */
  comment?: string;
}

export interface Section {
  header: Header;
  /** index of the header line */
  start: number;
  /** index one past the section's last line */
  end: number;
}

export interface FwDoc {
  /** `text.split('\n')`; `lines.join('\n')` gives the text back byte for byte */
  lines: string[];
  sections: Section[];
}

/** One parsed member line of an `[IPSET]` section (Perl rules, §2.4 of the reference). */
export interface IpsetLine {
  nomatch: boolean;
  token: string;
  comment?: string;
}

const SIMPLE_HEADER = /^\[(options|aliases|rules)\]$/i;
const NAMED_HEADER = /^\[(ipset|group)\s+(\S+)\]\s*(?:#\s*(.*?)\s*)?$/i;

/** Perl trims horizontal whitespace only (`\h`), never `\r`. */
export function trimH(line: string): string {
  return line.replace(/^[ \t]+|[ \t]+$/g, '');
}

export function parseHeader(line: string): Header | undefined {
  const t = trimH(line);
  if (!t.startsWith('[')) return undefined;
  const simple = SIMPLE_HEADER.exec(t);
  if (simple) return { kind: simple[1]!.toLowerCase() as SectionKind };
  const named = NAMED_HEADER.exec(t);
  if (named) {
    const header: Header = { kind: named[1]!.toLowerCase() as SectionKind, name: named[2]!.toLowerCase() };
    if (named[3]) header.comment = named[3];
    return header;
  }
  return undefined;
}

/**
 * Refuses text Proxmox would misread: with CRLF `[OPTIONS]\r` is no header, so `enable: 1`
 * is lost and the firewall goes off cluster-wide; a BOM hides the first header the same way.
 */
export function assertPlainLf(text: string, path: string, target: string): void {
  if (text.charCodeAt(0) === 0xfeff) {
    throw new TargetError(target, 'E_PVE_BOM', `${path}: starts with a byte-order mark; Proxmox would not see the first section header (firewall off); remove the BOM, refusing to read or write it`);
  }
  const cr = text.indexOf('\r');
  if (cr !== -1) {
    const line = text.slice(0, cr).split('\n').length;
    throw new TargetError(target, 'E_PVE_CRLF', `${path}:${line}: contains a carriage return (CRLF line endings); Proxmox would skip [OPTIONS] and disable the firewall; convert to LF (dos2unix), refusing to read or write it`);
  }
}

/**
 * Refuses a file that is no Proxmox `.fw` file: content before the first section header
 * means nothing to pve-firewall ("skip line - no section"), so a file holding such lines
 * (a passwd file, a key, a config of another program) was not written as one, and adding an
 * `[IPSET]` section to it would only damage it. The line is named by number, never quoted.
 */
export function assertFwShape(doc: FwDoc, path: string, target: string): void {
  const first = doc.sections[0]?.start ?? doc.lines.length;
  for (let i = 0; i < first; i++) {
    const t = trimH(doc.lines[i]!);
    if (t !== '' && !t.startsWith('#')) {
      throw new TargetError(target, 'E_PVE_NOT_FW', `${path}:${i + 1}: content before any [SECTION] header, so this is no Proxmox .fw file fail2git may edit; refusing to read or write it (point the target at cluster.fw)`);
    }
  }
}

export function splitFw(text: string): FwDoc {
  const lines = text.split('\n');
  const sections: Section[] = [];
  lines.forEach((line, i) => {
    const header = parseHeader(line);
    if (!header) return;
    const prev = sections[sections.length - 1];
    if (prev) prev.end = i;
    sections.push({ header, start: i, end: lines.length });
  });
  return { lines, sections };
}

export function sectionsNamed(doc: FwDoc, kind: SectionKind, name?: string): Section[] {
  return doc.sections.filter((s) => s.header.kind === kind && (name === undefined || s.header.name === name));
}

/** Blank and `#` lines are not members; everything else is `[!] token [# comment]`. */
export function parseIpsetLine(line: string): IpsetLine | undefined {
  const t = trimH(line);
  if (t === '' || t.startsWith('#')) return undefined;
  const hash = t.indexOf('#');
  const body = trimH(hash === -1 ? t : t.slice(0, hash));
  const m = /^(!)?\s*(\S+)$/.exec(body);
  if (!m) return { nomatch: false, token: body };
  const entry: IpsetLine = { nomatch: m[1] === '!', token: m[2]! };
  if (hash !== -1) entry.comment = t.slice(hash + 1).trim();
  return entry;
}

/** `[ALIASES]` lines: `name cidr [# comment]`; names are case-insensitive. */
export function parseAliases(doc: FwDoc): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const s of sectionsNamed(doc, 'aliases')) {
    for (let i = s.start + 1; i < s.end; i++) {
      const t = trimH(doc.lines[i]!);
      if (t === '' || t.startsWith('#')) continue;
      const m = /^(\S+)\s+([^\s#]+)/.exec(t);
      if (m) aliases.set(m[1]!.toLowerCase(), m[2]!);
    }
  }
  return aliases;
}

/** The last `enable:` in [OPTIONS], as Proxmox reads it (repeated keys: last wins). */
export function firewallEnabled(doc: FwDoc): boolean {
  let value: string | undefined;
  for (const s of sectionsNamed(doc, 'options')) {
    for (let i = s.start + 1; i < s.end; i++) {
      const m = /^enable:\s*(\d+)$/i.exec(trimH(doc.lines[i]!));
      if (m) value = m[1];
    }
  }
  return value === '1';
}

/** Whether any rule (in [RULES] or a group) references the set as `+name` or `+dc/name`. */
export function ipsetReferenced(doc: FwDoc, name: string): boolean {
  const ref = new RegExp(`\\+(dc/)?${name.replace(/[-]/g, '\\-')}(?![A-Za-z0-9_-])`, 'i');
  return doc.sections
    .filter((s) => s.header.kind === 'rules' || s.header.kind === 'group')
    .some((s) => doc.lines.slice(s.start + 1, s.end).some((l) => ref.test(l)));
}
