import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DLQ_CODES } from '@cdc/contracts';
import { Metrics } from '@cdc/observability';
import { BASE, DEPLOY, deploymentsOf, render } from './deploy-model';

/**
 * deploy/prometheus/alerts.yml is checked and unit-tested by promtool itself (Debian's `prometheus` package
 * ships it; .ci/run installs it where it is missing), and every metric the alerts and the Grafana dashboard
 * query must be one the code exports: the names come from the real Metrics registry, not from a list.
 */

const PROMETHEUS = join(DEPLOY, 'prometheus');
const ROOT = join(DEPLOY, '..');
/** Series Prometheus makes itself for every target. */
const PROMETHEUS_OWN = new Set(['up']);

interface Rule {
  alert: string;
  expr: string;
}
const rules = (
  parse(readFileSync(join(PROMETHEUS, 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }
).groups.flatMap((g) => g.rules);

function promtool(...args: string[]): { status: number | null; output: string } {
  return promtoolIn(PROMETHEUS, ...args);
}

function promtoolIn(cwd: string, ...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (run.error && 'code' in run.error && run.error.code === 'ENOENT') {
    throw new Error(
      'promtool is not installed: `apt-get install -y prometheus` (Debian ships promtool in it; .ci/run ' +
        'installs it where it is missing)',
    );
  }
  if (run.error) throw run.error;
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Every series name the code exports: histograms as _bucket/_sum/_count, summaries as _sum/_count. */
async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await new Metrics().registry.getMetricsAsJSON()) {
    names.add(m.name);
    const type = String(m.type);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
  }
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
]);
const KEYWORDS_TOO = new Set(['bool', 'offset', 'inf', 'nan']);

/** The metric names a PromQL expression selects (not its functions, keywords, labels or Grafana variables). */
function metricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ');
  const names = new Set<string>();
  for (const m of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    if (
      s
        .slice((m.index ?? 0) + word.length)
        .trimStart()
        .startsWith('(')
    )
      continue; // a function
    if (KEYWORDS.has(word) || KEYWORDS_TOO.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; query?: { query?: string } | string }> };
}
const dashboard = JSON.parse(
  readFileSync(join(DEPLOY, 'grafana', 'cdc-dashboard.json'), 'utf8'),
) as Dashboard;

/** Every query of the dashboard: panel targets, and the metric of each label_values() variable. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const out = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr })),
  );
  for (const v of dashboard.templating.list) {
    const query = typeof v.query === 'string' ? v.query : v.query?.query;
    const metric = query && /label_values\(([^,]+),/.exec(query)?.[1];
    if (metric) out.push({ where: `variable ${v.name}`, expr: metric });
  }
  return out;
}

describe('deploy/prometheus: promtool', () => {
  it('promtool check rules alerts.yml', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(status).toBe(0);
  });

  it('promtool test rules alerts.test.yml', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(output, output).toContain('SUCCESS');
    expect(status).toBe(0);
  });

  it('every alert has a unit test that sees it fire', () => {
    const tests = parse(readFileSync(join(PROMETHEUS, 'alerts.test.yml'), 'utf8')) as {
      tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
    };
    const firing = new Set(
      tests.tests.flatMap((t) =>
        t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
      ),
    );
    expect(rules.map((r) => r.alert).filter((a) => !firing.has(a))).toEqual([]);
  });

  it('every alert is explained in docs/operations.md', () => {
    const ops = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(rules.map((r) => r.alert).filter((a) => !ops.includes(`\`${a}\``))).toEqual([]);
  });
});

describe('deploy/prometheus and deploy/grafana query only what the code exports', () => {
  it('the alert rules', async () => {
    const exported = await exportedNames();
    const unknown = rules.flatMap((r) =>
      metricNames(r.expr)
        .filter((n) => !exported.has(n) && !PROMETHEUS_OWN.has(n))
        .map((n) => `${r.alert}: ${n}`),
    );
    expect(unknown).toEqual([]);
    expect(rules.flatMap((r) => metricNames(r.expr)).length).toBeGreaterThan(rules.length);
  });

  it('the Grafana dashboard', async () => {
    const exported = await exportedNames();
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${q.where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    expect(queries.filter((q) => metricNames(q.expr).length === 0)).toEqual([]);
  });

  it('every dashboard query is valid PromQL (promtool checks them as recording rules)', () => {
    const queries = dashboardQueries().filter((q) => !q.where.startsWith('variable '));
    const rules = queries.map((q, i) => ({
      record: `dashboard:query_${i}`,
      // Grafana's variables, as Grafana would substitute them.
      expr: q.expr.replaceAll('$namespace', 'default').replaceAll('$__rate_interval', '1m'),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'cdc-dashboard-'));
    try {
      writeFileSync(join(dir, 'dashboard.rules.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const { status, output } = promtoolIn(dir, 'check', 'rules', 'dashboard.rules.yml');
      expect(output, output).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('CdcApplierRetrying leaves out exactly the applier’s DLQ codes (those events are the DLQ alert’s)', () => {
    const expr = rules.find((r) => r.alert === 'CdcApplierRetrying')?.expr ?? '';
    const excluded = /code!~"([^"]+)"/.exec(expr)?.[1]?.split('|') ?? [];
    const applierCodes = Object.entries(DLQ_CODES).filter(([, c]) => c.by === 'applier');
    expect(excluded.sort()).toEqual(applierCodes.map(([code]) => code).sort());
  });

  it('the jobs the rules select are the ones scrape.yml makes from the Deployments’ component labels', () => {
    const scrape = parse(readFileSync(join(PROMETHEUS, 'scrape.yml'), 'utf8')) as {
      scrape_configs: Array<{ relabel_configs: Array<{ target_label?: string; replacement?: string }> }>;
    };
    const job = scrape.scrape_configs[0]?.relabel_configs.find((r) => r.target_label === 'job')?.replacement;
    const jobs = new Set(
      deploymentsOf(render(BASE)).map((d) =>
        (job ?? '').replace('$1', d.spec.template.metadata.labels?.['app.kubernetes.io/component'] ?? '?'),
      ),
    );
    const selected = new Set(
      [
        ...rules
          .map((r) => r.expr)
          .join('\n')
          .matchAll(/job="([^"]+)"/g),
      ].map((m) => m[1]),
    );
    expect([...selected].filter((j) => !jobs.has(j as string))).toEqual([]);
    expect(selected.size).toBe(3);
  });

  it('metricNames finds selectors, not functions, labels, keywords or variables', () => {
    expect(
      metricNames(
        'sum by (namespace) (rate(a_total{job="x",le="+Inf"}[$__rate_interval])) - on (namespace) group_left() b ' +
          'unless histogram_quantile(0.99, c_bucket) > 8 * 1024 or up',
      ),
    ).toEqual(['a_total', 'b', 'c_bucket', 'up']);
  });
});
