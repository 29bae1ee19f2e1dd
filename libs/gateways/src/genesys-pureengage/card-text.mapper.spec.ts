import { cardToText } from './card-text.mapper';

describe('cardToText', () => {
  it('renders an Adaptive Card an agent can read', () => {
    const card = {
      type: 'AdaptiveCard',
      version: '1.5',
      body: [
        { type: 'TextBlock', text: 'Flight status', weight: 'bolder' },
        { type: 'RichTextBlock', inlines: ['Flight ', { type: 'TextRun', text: 'KL 1234' }] },
        { type: 'ColumnSet', columns: [{ type: 'Column', items: [{ type: 'TextBlock', text: 'AMS' }] }, { type: 'Column', items: [{ type: 'TextBlock', text: 'JFK' }] }] },
        { type: 'FactSet', facts: [{ title: 'Gate', value: 'D7' }] },
        { type: 'Image', url: 'https://example.com/map.png', altText: 'Terminal map' },
        { type: 'TextBlock', text: 'hidden', isVisible: false },
        { type: 'Table', rows: [{ type: 'TableRow', cells: [{ type: 'TableCell', items: [{ type: 'TextBlock', text: 'Seat' }] }, { type: 'TableCell', items: [{ type: 'TextBlock', text: '12A' }] }] }] },
        { type: 'Input.ChoiceSet', label: 'Meal', choices: [{ title: 'Fish', value: 'f' }, { title: 'Pasta', value: 'p' }] },
        { type: 'Input.Text', label: 'Comment' },
      ],
      actions: [
        { type: 'Action.Submit', title: 'Check in' },
        { type: 'Action.OpenUrl', title: 'Details', url: 'https://example.com/kl1234' },
        { type: 'Action.ShowCard', title: 'More', card: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Baggage: 23 kg' }] } },
      ],
    };
    expect(cardToText({ contentType: 'application/vnd.microsoft.card.adaptive', content: card }).split('\n')).toEqual([
      'Flight status',
      'Flight KL 1234',
      'AMS',
      'JFK',
      'Gate: D7',
      '[Image: Terminal map] https://example.com/map.png',
      'Seat | 12A',
      'Meal: Fish / Pasta',
      'Comment: ____',
      'Details: https://example.com/kl1234',
      'More:',
      'Baggage: 23 kg',
      '[Check in]',
    ]);
  });

  it('renders hero cards, uses fallbackText, and names cards it cannot read', () => {
    expect(
      cardToText({
        contentType: 'application/vnd.microsoft.card.hero',
        content: { title: 'Pizza', subtitle: 'Large', images: [{ url: 'https://example.com/p.jpg' }], buttons: [{ type: 'imBack', title: 'Order' }, { type: 'openUrl', title: 'Menu', value: 'https://example.com/menu' }] },
      }),
    ).toBe('Pizza\nLarge\n[Image] https://example.com/p.jpg\nMenu: https://example.com/menu\n[Order]');
    expect(cardToText({ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [], fallbackText: 'Please update your app' } })).toBe('Please update your app');
    expect(cardToText({ contentType: 'application/x-custom', content: 'opaque' })).toBe('[Card: application/x-custom]');
    expect(cardToText({ contentType: 'application/x-custom', content: { title: 'Hi' } })).toBe('Hi');
  });

  it('survives deep nesting and bounds its output', () => {
    let deep: Record<string, unknown> = { type: 'TextBlock', text: 'bottom' };
    for (let i = 0; i < 100; i++) deep = { type: 'Container', items: [deep] };
    expect(() => cardToText({ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [deep] } })).not.toThrow();
    const long = cardToText({ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'y'.repeat(10_000) }] } });
    expect(long.length).toBe(4000);
  });
});
