import { describe, expect, it } from 'vitest';
import { markdownText, printable, unprintableIn } from '../../../controller/lib/printable.js';

describe('printable', () => {
  it('writes every unprintable character as an escape, leaving one inert line', () => {
    expect(printable('a\nb\r\tc')).toBe('a\\nb\\r\\tc');
    expect(printable('x\u001b[2Jy\u007f\u0085')).toBe('x\\x1b[2Jy\\x7f\\x85');
    expect(printable('evil\u202egnp.exe\u2028\u2066\ufeff')).toBe('evil\\u202egnp.exe\\u2028\\u2066\\ufeff');
    expect(printable('plain text, ünïcode, 2001:db8::1')).toBe('plain text, ünïcode, 2001:db8::1');
  });

  it('agrees with unprintableIn (one set of characters)', () => {
    for (let c = 0; c < 0x3000; c++) {
      const ch = String.fromCharCode(c);
      expect(printable(ch) !== ch, `U+${c.toString(16)}`).toBe(unprintableIn(ch) !== undefined);
    }
  });
});

describe('markdownText', () => {
  it('opens no HTML comment or tag, and forges no line', () => {
    const out = markdownText('ok\n\n<!-- hidden\n- forged <b>x</b> & "q"');
    expect(out).toBe('ok\\\\n\\\\n&lt;\\!-- hidden\\\\n- forged &lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot;');
    expect(out).not.toMatch(/[<>\n]/);
  });

  it('escapes the punctuation Markdown gives meaning inside a line', () => {
    expect(markdownText('**b** _i_ `c` [l](u) ![i](u) ~~s~~ a|b \\ #')).toBe('\\*\\*b\\*\\* \\_i\\_ \\`c\\` \\[l\\](u) \\!\\[i\\](u) \\~\\~s\\~\\~ a\\|b \\\\ \\#');
    expect(markdownText('198.51.100.0/24, web1, 2026-11-25T12:00:00Z')).toBe('198.51.100.0/24, web1, 2026-11-25T12:00:00Z');
  });
});
