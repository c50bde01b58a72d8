import { readFileSync, readdirSync, statSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { parseDocument } from 'yaml';
import { PROJECT_ROOT } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SlackAuditError } from '../errors.js';
import { ruleFileSchema, type Rule, type RuleFile } from './schema.js';

/** Where the default rule pack lives (shipped with the package). */
export const DEFAULT_RULES_DIR = resolve(PROJECT_ROOT, 'config', 'rules');

export interface RuleFileIssue {
  file: string;
  /** Dotted key path inside the file, e.g. `rules.3.where.any.1.regex`. */
  path: string;
  message: string;
}

export interface LoadedRuleFile {
  file: string;
  content: RuleFile;
}

export interface RuleLoadResult {
  files: LoadedRuleFile[];
  rules: { rule: Rule; file: string }[];
  issues: RuleFileIssue[];
}

/** Expand files and directories (non-recursive, *.yaml / *.yml, sorted) into a file list. */
export function listRuleFiles(paths: readonly string[]): { files: string[]; issues: RuleFileIssue[] } {
  const files: string[] = [];
  const issues: RuleFileIssue[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      issues.push({ file: p, path: '<file>', message: 'no such file or directory' });
      continue;
    }
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) if (/\.ya?ml$/.test(name)) files.push(join(p, name));
    } else {
      files.push(p);
    }
  }
  return { files, issues };
}

/** Parse and validate one rule file's text. Issues carry the file name and the key path. */
export function parseRuleFile(file: string, text: string): { content?: RuleFile; issues: RuleFileIssue[] } {
  // The YAML core schema only builds plain data (no custom tags, no functions): nothing in a rule file runs.
  const doc = parseDocument(text, { schema: 'core', prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return { issues: doc.errors.map((e) => ({ file, path: `<yaml line ${e.linePos?.[0].line ?? '?'}>`, message: e.message.split('\n')[0] ?? e.message })) };
  }
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  const parsed = ruleFileSchema.safeParse(data);
  if (!parsed.success) {
    return {
      issues: parsed.error.issues.map((i) => ({ file, path: i.path.length > 0 ? i.path.map(String).join('.') : '<root>', message: i.message })),
    };
  }
  return { content: parsed.data, issues: [] };
}

export function loadRuleFiles(paths: readonly string[]): RuleLoadResult {
  const listed = listRuleFiles(paths);
  const out: RuleLoadResult = { files: [], rules: [], issues: [...listed.issues] };
  const seen = new Map<string, string>();
  for (const file of listed.files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      out.issues.push({ file, path: '<file>', message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const { content, issues } = parseRuleFile(file, text);
    out.issues.push(...issues);
    if (!content) continue;
    out.files.push({ file, content });
    content.rules.forEach((rule, i) => {
      const prev = seen.get(rule.id);
      if (prev !== undefined) {
        out.issues.push({ file, path: `rules.${i}.id`, message: `duplicate rule id "${rule.id}" (also in ${prev})` });
        return;
      }
      seen.set(rule.id, file);
      out.rules.push({ rule, file });
    });
  }
  return out;
}

/** The rule paths a config asks for: the default pack (unless disabled) plus `rules.dirs`. */
export function configuredRulePaths(config: Pick<Config, 'rules'>): string[] {
  return [...(config.rules.includeDefaultPack ? [DEFAULT_RULES_DIR] : []), ...config.rules.dirs];
}

export function formatIssues(issues: readonly RuleFileIssue[]): string {
  return issues.map((i) => `${i.file}: ${i.path}: ${i.message}`).join('\n');
}

/** Load the configured rules or throw SLACK_AUDIT_RULE_INVALID listing every bad key. */
export function loadRulesOrThrow(paths: readonly string[]): { rule: Rule; file: string }[] {
  const res = loadRuleFiles(paths);
  if (res.issues.length > 0) {
    throw new SlackAuditError('SLACK_AUDIT_RULE_INVALID', `invalid rule files:\n${formatIssues(res.issues)}`, { details: { issues: res.issues } });
  }
  return res.rules;
}
