/**
 * Kibana saved objects (Kibana 8.19): three data views, five saved searches, six Lens panels and one dashboard.
 * Built here as typed data and committed as config/kibana/slack-audit.ndjson (regenerate with
 * `node dist/src/kibana/write-ndjson.js`; a unit test fails when the file is stale), so users can import the
 * file by hand and `setup --kibana` imports the same objects.
 *
 * Migration versions: each object carries the version of the format it is written in, so Kibana runs only
 * the migrations after it. Without them Kibana would run every Lens migration since 7.x, including the 8.6
 * one that moves `datasourceStates.indexpattern` to `formBased` and would drop our `formBased` state.
 */

export interface SavedObjectReference {
  name: string;
  type: string;
  id: string;
}

export interface SavedObject {
  type: 'index-pattern' | 'search' | 'lens' | 'dashboard';
  id: string;
  attributes: Record<string, unknown>;
  references: SavedObjectReference[];
  coreMigrationVersion: string;
  typeMigrationVersion: string;
  managed: boolean;
}

const CORE_MIGRATION_VERSION = '8.8.0';
const TYPE_MIGRATION_VERSION: Record<SavedObject['type'], string> = {
  'index-pattern': '8.0.0',
  search: '8.0.0',
  lens: '8.9.0',
  dashboard: '8.9.0',
};

function so(type: SavedObject['type'], id: string, attributes: Record<string, unknown>, references: SavedObjectReference[] = []): SavedObject {
  return { type, id, attributes, references, coreMigrationVersion: CORE_MIGRATION_VERSION, typeMigrationVersion: TYPE_MIGRATION_VERSION[type], managed: false };
}

// ---- data views ----

export const DATA_VIEWS = {
  events: { id: 'slack-audit-events', title: 'logs-slack.audit-*', name: 'Slack audit events' },
  alerts: { id: 'slack-audit-alerts', title: 'slack-audit-alerts-*', name: 'Slack audit alerts' },
  actions: { id: 'slack-audit-actions', title: 'slack-audit-actions-*', name: 'Slack audit response actions' },
} as const;
export type DataViewKey = keyof typeof DATA_VIEWS;

function dataView(key: DataViewKey): SavedObject {
  const dv = DATA_VIEWS[key];
  // allowNoIndex: alerts and actions indices appear only once a rule fires; the view must import before that.
  return so('index-pattern', dv.id, { title: dv.title, name: dv.name, timeFieldName: '@timestamp', allowNoIndex: true, fields: '[]', fieldFormatMap: '{}', runtimeFieldMap: '{}', typeMeta: '{}' });
}

// ---- saved searches ----

export interface SearchSpec {
  id: string;
  title: string;
  description: string;
  /** KQL. */
  query: string;
  columns: string[];
  view: DataViewKey;
}

/** KQL field names used by the searches are checked against the index templates (test/unit/kibana-objects.test.ts). */
export const SEARCHES: SearchSpec[] = [
  {
    id: 'slack-audit-search-admin-changes',
    title: 'Slack audit: admin and security setting changes',
    description: 'Role and permission changes, org/workspace preference changes, SSO/IdP, session and auth policy changes.',
    query:
      'event.action : (pref.* or role_change_to_* or role_assigned or role_removed or permissions_assigned or permissions_removed or owner_transferred or auth_policy_* or idp_* or bulk_session_reset_by_admin or user_session_reset_by_admin or user_session_settings_changed or user_created or user_deactivated or user_reactivated or app_approved or app_restricted or approved_orgs_added or approved_orgs_removed or barrier_created or barrier_updated or barrier_deleted)',
    columns: ['event.action', 'user.email', 'user.target.id', 'slack.audit.entity.name', 'source.ip'],
    view: 'events',
  },
  {
    id: 'slack-audit-search-anomalies',
    title: 'Slack audit: anomalies',
    description: 'Slack anomaly events (unexpected IP/ASN, user agent, Tor exit, impossible travel...) with their reasons.',
    query: 'event.action : "anomaly"',
    columns: ['user.email', 'slack.audit.details.reason', 'source.ip', 'source.geo.country_name', 'source.as.organization.name', 'user_agent.original'],
    view: 'events',
  },
  {
    id: 'slack-audit-search-logins-by-country',
    title: 'Slack audit: logins by country',
    description: 'Successful and failed logins with their GeoIP country and network.',
    query: 'event.action : (user_login or user_login_failed)',
    columns: ['user.email', 'event.action', 'source.geo.country_iso_code', 'source.geo.country_name', 'source.as.organization.name', 'source.ip'],
    view: 'events',
  },
  {
    id: 'slack-audit-search-file-downloads',
    title: 'Slack audit: file downloads',
    description: 'Files downloaded (or viewed) and downloads blocked by policy.',
    query: 'event.action : (file_downloaded or file_download_blocked or file_downloaded_blocked)',
    columns: ['user.email', 'event.action', 'slack.audit.entity.name', 'slack.audit.entity.id', 'source.ip', 'source.geo.country_name'],
    view: 'events',
  },
  {
    id: 'slack-audit-search-app-installs',
    title: 'Slack audit: app installs and scope changes',
    description: 'Apps installed, approved or given new scopes, org-wide or per workspace.',
    query: 'event.action : (app_installed or org_app_installed or org_app_workspace_added or org_app_upgraded_to_org_install or app_scopes_expanded or app_approved or app_resources_granted)',
    columns: ['event.action', 'user.email', 'slack.audit.entity.name', 'slack.audit.entity.id'],
    view: 'events',
  },
];

const INDEX_REF = 'kibanaSavedObjectMeta.searchSourceJSON.index';

function savedSearch(s: SearchSpec): SavedObject {
  const searchSource = { query: { query: s.query, language: 'kuery' }, filter: [], highlightAll: true, version: true, indexRefName: INDEX_REF };
  return so(
    'search',
    s.id,
    { title: s.title, description: s.description, columns: s.columns, sort: [['@timestamp', 'desc']], grid: {}, hideChart: false, isTextBasedQuery: false, kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify(searchSource) } },
    [{ name: INDEX_REF, type: 'index-pattern', id: DATA_VIEWS[s.view].id }],
  );
}

// ---- Lens panels ----

type Column =
  | { kind: 'date'; field: string; label: string }
  | { kind: 'terms'; field: string; label: string; size: number; dataType?: 'string' | 'number' }
  | { kind: 'count'; label: string };

export interface LensSpec {
  id: string;
  title: string;
  view: DataViewKey;
  /** KQL applied to the whole panel. */
  query: string;
  columns: Record<string, Column>;
  visualization: { type: 'lnsXY'; series: 'bar_stacked' | 'bar_horizontal_stacked' | 'line'; x: string; y: string; split?: string } | { type: 'lnsDatatable' } | { type: 'lnsPie'; groups: string[]; metric: string };
}

const LAYER = 'layer1';

export const LENS: LensSpec[] = [
  {
    id: 'slack-audit-lens-events-by-category',
    title: 'Events over time by category',
    view: 'events',
    query: '',
    columns: { t: { kind: 'date', field: '@timestamp', label: '@timestamp' }, cat: { kind: 'terms', field: 'event.category', label: 'Category', size: 10 }, n: { kind: 'count', label: 'Events' } },
    visualization: { type: 'lnsXY', series: 'bar_stacked', x: 't', y: 'n', split: 'cat' },
  },
  {
    id: 'slack-audit-lens-top-actors',
    title: 'Top actors',
    view: 'events',
    query: '',
    columns: { actor: { kind: 'terms', field: 'user.email', label: 'Actor', size: 15 }, action: { kind: 'terms', field: 'event.action', label: 'Top actions', size: 3 }, n: { kind: 'count', label: 'Events' } },
    visualization: { type: 'lnsDatatable' },
  },
  {
    id: 'slack-audit-lens-anomalies',
    title: 'Anomalies by user and country',
    view: 'events',
    query: 'event.action : "anomaly"',
    columns: {
      user: { kind: 'terms', field: 'user.email', label: 'User', size: 15 },
      country: { kind: 'terms', field: 'source.geo.country_name', label: 'Country', size: 5 },
      asn: { kind: 'terms', field: 'source.as.organization.name', label: 'Network', size: 5 },
      n: { kind: 'count', label: 'Anomalies' },
    },
    visualization: { type: 'lnsDatatable' },
  },
  {
    id: 'slack-audit-lens-logins-by-country',
    title: 'Logins by country',
    view: 'events',
    query: 'event.action : (user_login or user_login_failed)',
    columns: { country: { kind: 'terms', field: 'source.geo.country_iso_code', label: 'Country', size: 10 }, n: { kind: 'count', label: 'Logins' } },
    visualization: { type: 'lnsPie', groups: ['country'], metric: 'n' },
  },
  {
    id: 'slack-audit-lens-alerts-by-rule',
    title: 'Alerts by rule and severity',
    view: 'alerts',
    query: '',
    columns: {
      rule: { kind: 'terms', field: 'rule.name', label: 'Rule', size: 20 },
      sev: { kind: 'terms', field: 'event.severity', label: 'Severity', size: 5, dataType: 'number' },
      n: { kind: 'count', label: 'Alerts' },
    },
    visualization: { type: 'lnsXY', series: 'bar_horizontal_stacked', x: 'rule', y: 'n', split: 'sev' },
  },
  {
    id: 'slack-audit-lens-response-outcomes',
    title: 'Response actions by outcome',
    view: 'actions',
    query: '',
    columns: {
      outcome: { kind: 'terms', field: 'slack.response.outcome', label: 'Outcome', size: 10 },
      action: { kind: 'terms', field: 'slack.response.action', label: 'Action', size: 10 },
      n: { kind: 'count', label: 'Actions' },
    },
    visualization: { type: 'lnsPie', groups: ['outcome', 'action'], metric: 'n' },
  },
];

function lensColumn(col: Column, orderBy: string | undefined): Record<string, unknown> {
  switch (col.kind) {
    case 'date':
      return { label: col.label, dataType: 'date', operationType: 'date_histogram', sourceField: col.field, isBucketed: true, scale: 'interval', params: { interval: 'auto', includeEmptyRows: true, dropPartials: false } };
    case 'terms':
      return {
        label: col.label,
        customLabel: true,
        dataType: col.dataType ?? 'string',
        operationType: 'terms',
        sourceField: col.field,
        isBucketed: true,
        scale: 'ordinal',
        params: { size: col.size, orderBy: orderBy === undefined ? { type: 'alphabetical' } : { type: 'column', columnId: orderBy }, orderDirection: 'desc', otherBucket: true, missingBucket: false, parentFormat: { id: 'terms' } },
      };
    case 'count':
      return { label: col.label, customLabel: true, dataType: 'number', operationType: 'count', sourceField: '___records___', isBucketed: false, scale: 'ratio', params: { emptyAsNull: true } };
  }
}

function lens(spec: LensSpec): SavedObject {
  const metricId = Object.entries(spec.columns).find(([, c]) => c.kind === 'count')?.[0];
  const columns = Object.fromEntries(Object.entries(spec.columns).map(([id, c]) => [id, lensColumn(c, metricId)]));
  // Kibana wants bucket columns before metrics in columnOrder.
  const columnOrder = [...Object.entries(spec.columns).filter(([, c]) => c.kind !== 'count'), ...Object.entries(spec.columns).filter(([, c]) => c.kind === 'count')].map(([id]) => id);
  const v = spec.visualization;
  let visualization: Record<string, unknown>;
  if (v.type === 'lnsXY') {
    visualization = {
      legend: { isVisible: true, position: 'right' },
      valueLabels: 'hide',
      preferredSeriesType: v.series,
      layers: [{ layerId: LAYER, layerType: 'data', seriesType: v.series, xAccessor: v.x, accessors: [v.y], ...(v.split ? { splitAccessor: v.split } : {}) }],
    };
  } else if (v.type === 'lnsDatatable') {
    visualization = { layerId: LAYER, layerType: 'data', columns: columnOrder.map((columnId) => ({ columnId })) };
  } else {
    visualization = { shape: 'donut', layers: [{ layerId: LAYER, layerType: 'data', primaryGroups: v.groups, metrics: [v.metric], numberDisplay: 'percent', categoryDisplay: 'default', legendDisplay: 'default', nestedLegend: false }] };
  }
  return so(
    'lens',
    spec.id,
    {
      title: spec.title,
      description: '',
      visualizationType: v.type,
      state: {
        datasourceStates: { formBased: { layers: { [LAYER]: { columns, columnOrder, incompleteColumns: {} } } } },
        visualization,
        query: { query: spec.query, language: 'kuery' },
        filters: [],
        internalReferences: [],
        adHocDataViews: {},
      },
    },
    [
      { type: 'index-pattern', id: DATA_VIEWS[spec.view].id, name: 'indexpattern-datasource-current-indexpattern' },
      { type: 'index-pattern', id: DATA_VIEWS[spec.view].id, name: `indexpattern-datasource-layer-${LAYER}` },
    ],
  );
}

// ---- dashboard ----

export const DASHBOARD_ID = 'slack-audit-overview';

const LAYOUT: { lens: string; x: number; y: number; w: number; h: number }[] = [
  { lens: 'slack-audit-lens-events-by-category', x: 0, y: 0, w: 48, h: 14 },
  { lens: 'slack-audit-lens-top-actors', x: 0, y: 14, w: 24, h: 16 },
  { lens: 'slack-audit-lens-anomalies', x: 24, y: 14, w: 24, h: 16 },
  { lens: 'slack-audit-lens-alerts-by-rule', x: 0, y: 30, w: 24, h: 15 },
  { lens: 'slack-audit-lens-response-outcomes', x: 24, y: 30, w: 12, h: 15 },
  { lens: 'slack-audit-lens-logins-by-country', x: 36, y: 30, w: 12, h: 15 },
];

function dashboard(): SavedObject {
  const panels = LAYOUT.map((p, i) => {
    const idx = `p${i + 1}`;
    return { version: '8.19.0', type: 'lens', gridData: { x: p.x, y: p.y, w: p.w, h: p.h, i: idx }, panelIndex: idx, embeddableConfig: { enhancements: {} }, panelRefName: `panel_${idx}` };
  });
  return so(
    'dashboard',
    DASHBOARD_ID,
    {
      title: 'Slack audit overview',
      description: 'Slack Enterprise Grid audit events, anomalies, alerts and automated responses (slack-audit).',
      panelsJSON: JSON.stringify(panels),
      optionsJSON: JSON.stringify({ useMargins: true, syncColors: false, syncCursor: true, syncTooltips: false, hidePanelTitles: false }),
      timeRestore: true,
      timeFrom: 'now-7d',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 60_000 },
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'kuery' }, filter: [] }) },
    },
    LAYOUT.map((p, i) => ({ name: `p${i + 1}:panel_p${i + 1}`, type: 'lens', id: p.lens })),
  );
}

/** Every object, in dependency order (data views first). */
export function savedObjects(): SavedObject[] {
  return [dataView('events'), dataView('alerts'), dataView('actions'), ...SEARCHES.map(savedSearch), ...LENS.map(lens), dashboard()];
}

export function toNdjson(objects: SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}
