import { Card } from '@app/gateway-sdk';

/** GMS carries plain text only, so cards reach the agent as readable text of at most this many characters. */
const MAX_CARD_TEXT = 4000;
const MAX_DEPTH = 12;

type Json = Record<string, unknown>;

/**
 * Renders a card as text an agent can read: Adaptive Cards (text blocks, fact sets, images, tables, inputs, actions)
 * and Bot Framework hero/thumbnail cards; any other card gives its titles and texts, or a placeholder.
 */
export function cardToText(card: Card): string {
  const content = isObject(card?.content) ? card.content : {};
  const lines: string[] = [];
  if (card?.contentType === 'application/vnd.microsoft.card.adaptive' || content.type === 'AdaptiveCard') {
    adaptiveCard(content, lines, 0);
    if (lines.length === 0 && typeof content.fallbackText === 'string') lines.push(content.fallbackText);
  } else if (/card\.(hero|thumbnail)$/.test(card?.contentType ?? '')) {
    heroCard(content, lines);
  } else {
    for (const name of ['title', 'subtitle', 'text']) if (typeof content[name] === 'string' && content[name]) lines.push(content[name] as string);
  }
  const text = lines.map((line) => line.trimEnd()).filter((line) => line.trim() !== '').join('\n');
  if (!text) return `[Card: ${card?.contentType || 'unknown type'}]`;
  return text.length > MAX_CARD_TEXT ? `${text.slice(0, MAX_CARD_TEXT - 1)}…` : text;
}

function adaptiveCard(card: Json, lines: string[], depth: number): void {
  elements(card.body, lines, depth);
  actions(card.actions, lines, depth);
}

function elements(value: unknown, lines: string[], depth: number): void {
  if (!Array.isArray(value) || depth > MAX_DEPTH) return;
  for (const element of value) if (isObject(element) && element.isVisible !== false) renderElement(element, lines, depth + 1);
}

function renderElement(element: Json, lines: string[], depth: number): void {
  const str = (name: string) => (typeof element[name] === 'string' ? (element[name] as string) : '');
  switch (element.type) {
    case 'TextBlock':
      lines.push(str('text'));
      return;
    case 'RichTextBlock':
      lines.push(list(element.inlines).map((inline) => (typeof inline === 'string' ? inline : isObject(inline) ? String(inline.text ?? '') : '')).join(''));
      return;
    case 'FactSet':
      for (const fact of list(element.facts)) if (isObject(fact)) lines.push(`${String(fact.title ?? '')}: ${String(fact.value ?? '')}`);
      return;
    case 'Image':
      lines.push(`[Image${str('altText') ? `: ${str('altText')}` : ''}] ${str('url')}`.trim());
      return;
    case 'ImageSet':
      elements(list(element.images).map((image) => (isObject(image) ? { ...image, type: 'Image' } : image)), lines, depth);
      return;
    case 'Media':
      for (const source of list(element.sources)) if (isObject(source) && typeof source.url === 'string') lines.push(`[Media] ${source.url}`);
      return;
    case 'Container':
      elements(element.items, lines, depth);
      return;
    case 'ColumnSet':
      for (const column of list(element.columns)) if (isObject(column)) elements(column.items, lines, depth + 1);
      return;
    case 'Table':
      for (const row of list(element.rows)) {
        if (!isObject(row)) continue;
        const cells = list(row.cells).map((cell) => {
          const cellLines: string[] = [];
          if (isObject(cell)) elements(cell.items, cellLines, depth + 1);
          return cellLines.join(' ');
        });
        lines.push(cells.join(' | '));
      }
      return;
    case 'ActionSet':
      actions(element.actions, lines, depth);
      return;
    case 'Input.ChoiceSet': {
      const choices = list(element.choices).map((choice) => (isObject(choice) ? String(choice.title ?? choice.value ?? '') : '')).filter(Boolean);
      lines.push(`${str('label') || 'Choose'}: ${choices.join(' / ')}`);
      return;
    }
    case 'Input.Toggle':
      lines.push(`[ ] ${str('title') || str('label')}`);
      return;
    default:
      if (typeof element.type === 'string' && element.type.startsWith('Input.')) lines.push(`${str('label') || str('placeholder') || 'Input'}: ____`);
  }
}

function actions(value: unknown, lines: string[], depth: number): void {
  const buttons: string[] = [];
  for (const action of list(value)) {
    if (!isObject(action)) continue;
    const title = String(action.title ?? '');
    if (action.type === 'Action.OpenUrl' && typeof action.url === 'string') lines.push(`${title || 'Link'}: ${action.url}`);
    else if (action.type === 'Action.ShowCard' && isObject(action.card) && depth < MAX_DEPTH) {
      lines.push(`${title}:`);
      adaptiveCard(action.card, lines, depth + 1);
    } else if (title && action.type !== 'Action.ToggleVisibility') buttons.push(`[${title}]`);
  }
  if (buttons.length > 0) lines.push(buttons.join(' '));
}

function heroCard(content: Json, lines: string[]): void {
  for (const name of ['title', 'subtitle', 'text']) if (typeof content[name] === 'string') lines.push(content[name] as string);
  for (const image of list(content.images)) if (isObject(image) && typeof image.url === 'string') lines.push(`[Image] ${image.url}`);
  const buttons: string[] = [];
  for (const button of list(content.buttons)) {
    if (!isObject(button)) continue;
    const title = String(button.title ?? button.value ?? '');
    if (button.type === 'openUrl' && typeof button.value === 'string') lines.push(`${String(button.title ?? 'Link')}: ${button.value}`);
    else if (title) buttons.push(`[${title}]`);
  }
  if (buttons.length > 0) lines.push(buttons.join(' '));
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
