/**
 * A parsed document together with a way to find where each part of it was written.
 * Both parsers (the canonical fast path and the full YAML parser) produce this, and all
 * checks run on it, so both paths report the same problems at the same positions.
 */
export type PathSeg = string | number;

export interface Pos {
  line: number;
  col: number;
}

export interface LocatedDoc {
  /** the plain JS value of the document */
  value: unknown;
  /**
   * Position of the value at `path` (or of its key, for `part: 'key'`). A path that does
   * not exist resolves to its nearest existing ancestor (a missing field → its mapping).
   */
  at(path: readonly PathSeg[], part?: 'key' | 'value'): Pos;
  /**
   * true: the parser knows every string and key in `value` is printable ASCII (the line
   * reader, when it read no quoted scalar), so the check for control characters has
   * nothing to find and skips its walk over 100k entries.
   */
  printable?: true;
}
