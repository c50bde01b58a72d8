import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { toEcs } from '../normalize/index.js';
import { configuredRulePaths, formatIssues, loadRuleFiles } from '../rules/load.js';
import { runRuleTests } from '../rules/rule-tests.js';

/**
 * `rules validate [paths...]` checks rule files (syntax, schema, expressions, duplicate ids) and prints each
 * problem as `file: key.path: message`. `rules test [paths...]` runs every rule's test cases, prints a line
 * per rule and `N passed, M failed`. Both exit 1 on any problem. Without paths: the configured rules
 * (default pack + rules.dirs).
 */
function rootConfigFile(cmd: Command): string | undefined {
  let root: Command = cmd;
  while (root.parent) root = root.parent;
  return root.opts<{ config?: string }>().config;
}

function targetPaths(paths: string[], cmd: Command): { paths: string[]; config: Config } {
  const config = loadConfig({ file: rootConfigFile(cmd) });
  return { paths: paths.length > 0 ? paths : configuredRulePaths(config), config };
}

export function registerRules(program: Command): void {
  const rules = program.command('rules').description('alert rules: validate and test');
  rules
    .command('validate [paths...]')
    .description('check rule files (default: the configured rule pack and rules.dirs)')
    .action((paths: string[], _opts: unknown, cmd: Command) => {
      const { paths: targets } = targetPaths(paths, cmd);
      const res = loadRuleFiles(targets);
      for (const f of res.files) {
        const bad = res.issues.some((i) => i.file === f.file);
        if (!bad) process.stdout.write(`ok    ${f.file} (${f.content.rules.length} rule${f.content.rules.length === 1 ? '' : 's'})\n`);
      }
      if (res.issues.length > 0) {
        process.stdout.write(`${formatIssues(res.issues)}\n`);
        process.stdout.write(`${res.issues.length} problem(s) in ${new Set(res.issues.map((i) => i.file)).size} file(s)\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${res.rules.length} rules in ${res.files.length} file(s) are valid\n`);
    });
  rules
    .command('test [paths...]')
    .description("run the test cases carried by rule files (raw Slack entries -> toEcs -> rules)")
    .action(async (paths: string[], _opts: unknown, cmd: Command) => {
      const { paths: targets, config } = targetPaths(paths, cmd);
      const loaded = loadRuleFiles(targets);
      if (loaded.issues.length > 0) {
        process.stdout.write(`${formatIssues(loaded.issues)}\n`);
      }
      const results = await runRuleTests(loaded.files, toEcs, config.rules.stallMinutes);
      let passed = 0;
      let failed = loaded.issues.length;
      for (const r of results) {
        const bad = r.cases.filter((c) => !c.passed);
        passed += r.cases.length - bad.length;
        failed += bad.length;
        if (r.cases.length === 0) process.stdout.write(`NOTEST ${r.ruleId} (${r.file}): no test cases\n`);
        else if (bad.length === 0) process.stdout.write(`PASS  ${r.ruleId} (${r.cases.length} case${r.cases.length === 1 ? '' : 's'})\n`);
        else {
          process.stdout.write(`FAIL  ${r.ruleId} (${r.file})\n`);
          for (const c of bad) process.stdout.write(`      - ${c.name}: ${c.message ?? 'failed'}\n`);
        }
      }
      process.stdout.write(`${passed} passed, ${failed} failed\n`);
      if (failed > 0) process.exitCode = 1;
    });
}
