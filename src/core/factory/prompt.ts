// The LLM factory's prompt: a template file the user can edit, with two placeholders filled by
// the loop. {{worked_example}} is the one worked example (the paper's 1-shot prompt); {{examples}}
// holds the best earlier algorithms when the config asks for them (empty otherwise). The exact
// text sent is written to the iteration's prompt.md, so a run records what its factory saw.

export const PLACEHOLDERS = ['worked_example', 'examples'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface PromptExample {
  /** e.g. "2/a0007" */
  ref: string;
  score: number;
  code: string;
}

export class PromptTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromptTemplateError';
  }
}

/** The placeholders a template uses; throws on one this version does not know. */
export function templatePlaceholders(template: string): Placeholder[] {
  const found = new Set<Placeholder>();
  for (const m of template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)) {
    const name = m[1] as Placeholder;
    if (!PLACEHOLDERS.includes(name)) throw new PromptTemplateError(`unknown placeholder {{${m[1]}}} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`);
    found.add(name);
  }
  return [...found];
}

/** A code block as the prompt shows it: fenced, ending in one newline before the fence. */
export function fence(code: string): string {
  return '```python\n' + code.replace(/\r\n?/g, '\n').replace(/\n*$/, '\n') + '```';
}

/** The text of {{examples}}: each earlier algorithm with its dev score, best first. */
export function formatExamples(examples: readonly PromptExample[]): string {
  return examples.map((e) => `Earlier algorithm ${e.ref} (dev score ${(100 * e.score).toFixed(1)}):\n${fence(e.code)}\n\n`).join('');
}

/** The prompt text: the template with its placeholders filled. */
export function renderPrompt(template: string, values: { workedExample: string; examples?: readonly PromptExample[] }): string {
  const used = templatePlaceholders(template);
  if (!used.includes('worked_example')) throw new PromptTemplateError('the template has no {{worked_example}}: the factory prompt shows one worked example');
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, name: Placeholder) =>
    name === 'worked_example' ? values.workedExample.replace(/\r\n?/g, '\n').replace(/\n*$/, '\n') : formatExamples(values.examples ?? []),
  );
}
