// Server-sent events (the text/event-stream format of the HTML standard) as OpenAI-compatible
// servers stream them: "data: <json>" events, blank-line separated, ended by "data: [DONE]".
// Ten lines of parsing do not justify a dependency (the openai package needs Node 22; FACTS.md).

/** The data of each event in a complete event-stream body, [DONE] left out. */
export function sseData(body: string): string[] {
  const out: string[] = [];
  for (const event of body.replace(/\r\n?/g, '\n').split(/\n\n+/)) {
    const data = event
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length === 0) continue;
    const joined = data.join('\n');
    if (joined.trim() === '[DONE]') continue;
    out.push(joined);
  }
  return out;
}
