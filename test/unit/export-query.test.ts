import { describe, expect, it } from 'vitest';
import { buildEsQuery, indicesForRange, monthsForRange, parseQueryFile, parseTimeRange, sortKeyOf } from '../../src/export/build-query.js';

describe('export query', () => {
  it('parses ISO ranges with a zone or a bare date, and rejects bad ones with SLACK_AUDIT_EXPORT_INVALID', () => {
    expect(parseTimeRange('2024-01-01', '2024-01-02T00:00:00+02:00')).toEqual({ from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-01T22:00:00Z') });
    expect(() => parseTimeRange('2024-01-02', '2024-01-01')).toThrow(expect.objectContaining({ code: 'SLACK_AUDIT_EXPORT_INVALID' }) as Error);
    expect(() => parseTimeRange('2024-01-01', '2024-01-01')).toThrow(/bad time range/);
    expect(() => parseTimeRange('yesterday', '2024-01-01')).toThrow(/--from/);
    expect(() => parseTimeRange('2024-01-01T10:00:00', '2024-01-02')).toThrow(/with a zone/); // local time: ambiguous
    expect(() => parseTimeRange('2024-13-45', '2025-01-01')).toThrow(/--from/);
  });

  it('ANDs the filters into one bool query, from inclusive and to exclusive', () => {
    const q = buildEsQuery({ namespace: 'n', from: 'A', to: 'B', source: 's1', actions: ['x', 'y'], actor: 'U1', query: { term: { k: 'v' } } });
    const filter = (q.bool as { filter: unknown[] }).filter;
    expect(filter).toContainEqual({ range: { '@timestamp': { gte: 'A', lt: 'B', format: 'strict_date_optional_time_nanos' } } });
    expect(filter).toContainEqual({ terms: { 'event.action': ['x', 'y'] } });
    expect(filter).toContainEqual({ term: { 'user.id': 'U1' } });
    expect(filter).toContainEqual({ term: { k: 'v' } });
    expect(JSON.stringify(filter)).toContain('slack.audit.source_id');
    expect(filter).toHaveLength(5);
    expect((buildEsQuery({ namespace: 'n', from: 'A', to: 'B', source: null, actions: null, actor: null, query: null }).bool as { filter: unknown[] }).filter).toHaveLength(1);
  });

  it('accepts a bare query or a {"query": ...} body in --query files', () => {
    expect(parseQueryFile('{"term":{"a":"b"}}', 'f')).toEqual({ term: { a: 'b' } });
    expect(parseQueryFile('{"query":{"term":{"a":"b"}}}', 'f')).toEqual({ term: { a: 'b' } });
    expect(() => parseQueryFile('[1]', 'f')).toThrow(/one ES query object/);
    expect(() => parseQueryFile('{nope', 'f')).toThrow(/not valid JSON/);
  });

  it('picks the monthly indices of the range with a month of slack on each side', () => {
    expect([...monthsForRange(new Date('2024-01-15T00:00:00Z'), new Date('2024-02-01T00:00:00Z'))]).toEqual(['2023.12', '2024.01', '2024.02']);
    const all = ['p-2023.10', 'p-2023.12', 'p-2024.01', 'p-2024.03', 'p-weird'];
    expect(indicesForRange(all, 'p-', new Date('2024-01-15T00:00:00Z'), new Date('2024-01-20T00:00:00Z'))).toEqual(['p-2023.12', 'p-2024.01', 'p-weird']);
  });

  it('keeps only the two stable sort values and refuses documents without them', () => {
    expect(sortKeyOf(['2024-01-01T00:00:00.000Z', 'id', 17])).toEqual(['2024-01-01T00:00:00.000Z', 'id']);
    expect(() => sortKeyOf([null, 'id'])).toThrow(/sort values/);
  });
});
