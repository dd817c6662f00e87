// The report's two renderings of one list of blocks: generated text (algorithm summaries, code,
// ids) can hold Markdown table bars, code fences and markup; none of it escapes its place.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toHtml, toMarkdown, type Block } from '../../src/app/report/reportDocument';

const hostile: Block[] = [
  { kind: 'heading', level: 2, text: 'a <b>heading</b>' },
  { kind: 'paragraph', text: '<script>alert(1)</script> & more' },
  { kind: 'table', id: 't', caption: 'x | y', head: ['a|b', 'c'], rows: [['1 | 2', '<img src=x onerror=alert(1)>'], ['line\nbreak', '3']] },
  { kind: 'code', language: 'python', text: 'x = "```"\nprint("</code></pre><script>")' },
  { kind: 'figure', name: 'progress', title: 'Best "so far"', caption: '<i>c</i>' },
];

describe('report document', () => {
  it('keeps Markdown tables and code blocks whole whatever their text', () => {
    const md = toMarkdown(hostile);
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    assert.deepEqual(table, ['| a\\|b | c |', '| --- | --- |', '| 1 \\| 2 | &lt;img src=x onerror=alert(1)&gt; |', '| line break | 3 |']);
    // A fence the code cannot close.
    assert.match(md, /~~~~python\nx = "```"\nprint\("<\/code><\/pre><script>"\)\n~~~~/);
    assert.match(md, /!\[Best "so far"\]\(figures\/progress\.svg\)/);
    assert.match(md, /^&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; more$/m);
    assert.match(md, /^## a &lt;b&gt;heading&lt;\/b&gt;$/m);
  });

  it('escapes every text in the HTML, which has no script and a CSP that forbids one', () => {
    const html = toHtml(hostile, 'T <x>', { progress: '<svg xmlns="http://www.w3.org/2000/svg"></svg>' });
    assert.doesNotMatch(html, /<script|<img|<b>|<i>/);
    assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt; &amp; more/);
    assert.match(html, /<td>1 \| 2<\/td><td>&lt;img src=x onerror=alert\(1\)&gt;<\/td>/);
    assert.match(html, /<code class="language-python">x = &quot;```&quot;\nprint\(&quot;&lt;\/code&gt;&lt;\/pre&gt;&lt;script&gt;&quot;\)<\/code>/);
    assert.match(html, /<title>T &lt;x&gt;<\/title>/);
    assert.match(html, /<figure id="figure-progress" role="img" aria-label="Best &quot;so far&quot;"><svg /);
    assert.match(html, /content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/);
  });
});
