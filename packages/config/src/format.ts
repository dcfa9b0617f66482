import { describeVariables, type Env, type VariableDescription, type Variables } from './variables';

/**
 * `--help`: every variable with what it accepts, its default and its doc, and the value `env` sets
 * (secrets hidden), so that a wrong setting shows next to what it should be.
 */
export function formatHelp(title: string, variables: readonly VariableDescription[], env: Env): string {
  const lines = [`${title}`, '', 'Environment variables (NAME=value when set here; secrets hidden):', ''];
  for (const v of variables) {
    const raw = env[v.name];
    const set = raw !== undefined && raw.trim() !== '';
    const shown = set ? `=${v.secret ? '<hidden>' : raw}` : '';
    const facts = [
      v.required ? 'required' : v.default === undefined ? 'no default' : `default ${v.default}`,
      v.accepts,
    ];
    lines.push(`  ${v.name}${shown}   (${facts.join('; ')})`, `      ${v.doc}`);
  }
  return `${lines.join('\n')}\n`;
}

/** An app's `--help`: `formatHelp` of its table of variables, for the environment it is given. */
export function helpFor(title: string, variables: Variables): (env: Env) => string {
  const described = describeVariables(variables);
  return (env) => formatHelp(title, described, env);
}

const HEADER = ['variable', 'default', 'accepts', 'meaning'];

/** A Markdown table of the variables, padded as the repository's formatter leaves tables. */
export function formatMarkdownTable(variables: readonly VariableDescription[]): string {
  const rows = variables.map((v) => [
    `\`${v.name}\``,
    v.required ? '(required)' : v.default === undefined ? '—' : `\`${v.default}\``,
    escapeCell(v.accepts),
    escapeCell(v.doc),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(HEADER), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
