import { methodLabel, routeLabel } from './http-labels';

describe('HTTP series labels', () => {
  it('names a method outside the served ones other', () => {
    expect(['GET', 'POST', 'DELETE', 'OPTIONS'].map(methodLabel)).toEqual(['GET', 'POST', 'DELETE', 'OPTIONS']);
    expect(['PROPFIND', 'MKCOL', 'get', '', undefined].map(methodLabel)).toEqual(['other', 'other', 'other', 'other', 'other']);
  });

  it('labels a request by its route template, a mount, or unmatched, never by its path', () => {
    expect(routeLabel({ originalUrl: '/v1/escalations/7f0c', route: { path: '/v1/escalations/:id' } })).toBe('/v1/escalations/:id');
    expect(routeLabel({ originalUrl: '/queues/api/queues', route: { path: '/api/queues' } })).toBe('/queues');
    expect(routeLabel({ originalUrl: '/QUEUES/anything-at-all' })).toBe('/queues');
    expect(routeLabel({ originalUrl: '/docs/swagger-ui.css' })).toBe('/docs');
    expect(routeLabel({ originalUrl: '/docs/openapi.json', route: { path: '/docs/openapi.json' } })).toBe('/docs/openapi.json');
    expect(routeLabel({ originalUrl: '/queuesX/1' })).toBe('unmatched');
    expect(routeLabel({ originalUrl: '/v1/escalations', url: '/v1/escalations' })).toBe('unmatched');
  });
});
