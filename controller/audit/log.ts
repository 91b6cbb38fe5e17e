/**
 * Reads the ledger's history for audit: `git log` output in the format of `LOG_FORMAT`, one
 * record per commit with its trailers (controller/git/trailers.ts). Pure.
 */
import { parseTrailers, type TrailerOp } from '../git/trailers.js';

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
