/**
 * Reads the structured trailers that writers put on ledger commits:
 *
 *     Fail2git-Op: ban
 *     Fail2git-Cidr: 203.0.113.7
 *     Fail2git-Jail: sshd
 *     Fail2git-Host: web1
 *     Fail2git-Expires: 2026-11-25T10:00:00Z
 *
 * One block per operation; a `Fail2git-Op` line starts the next block. Blocks are read from
 * the whole body (not only git's last-paragraph trailer block), so a writer may separate them
 * with blank lines. Pure: the input is `git log` output in the format of `LOG_FORMAT`.
 */

/** One operation recorded in a commit's trailers; keys are lower-case without the prefix. */
export interface TrailerOp {
  op: string;
  fields: Record<string, string>;
}

export interface LoggedCommit {
  commit: string;
  parents: string[];
  /** committer time, ms since the epoch (when the change landed) */
  time: number;
  author: string;
  email: string;
  subject: string;
  ops: TrailerOp[];
}

const RS = '\x1e';
const FS = '\x1f';

/** `git log --format=` for parseLog: one record per commit, fields split by US. */
export const LOG_FORMAT = `${RS}%H${FS}%P${FS}%ct${FS}%an${FS}%ae${FS}%s${FS}%b`;

const TRAILER = /^Fail2git-([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)\s*$/;

/** The operations in a commit body, in order. Fields before the first `Op` are ignored. */
export function parseTrailers(body: string): TrailerOp[] {
  const ops: TrailerOp[] = [];
  if (!body.includes('Fail2git-')) return ops;
  let current: TrailerOp | undefined;
  for (const line of body.split('\n')) {
    if (!line.startsWith('Fail2git-')) continue;
    const m = TRAILER.exec(line);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const value = m[2]!;
    if (key === 'op') {
      current = { op: value.toLowerCase(), fields: {} };
      ops.push(current);
    } else if (current && !(key in current.fields)) {
      current.fields[key] = value;
    }
  }
  return ops;
}

/** Splits `git log --format=LOG_FORMAT` output into commits. */
export function parseLog(text: string): LoggedCommit[] {
  const commits: LoggedCommit[] = [];
  for (const record of text.split(RS)) {
    if (record.trim() === '') continue;
    const [commit, parents, time, author, email, subject, body] = record.split(FS);
    if (!commit || !time) continue;
    commits.push({
      commit: commit.trim(),
      parents: (parents ?? '').split(' ').filter(Boolean),
      time: Number(time) * 1000,
      author: author ?? '',
      email: email ?? '',
      subject: subject ?? '',
      ops: parseTrailers(body ?? ''),
    });
  }
  return commits;
}
