/**
 * The one id of a stored event, wherever an integrator meets it: a delivery's body `id` and `webhook-id` header,
 * replay, the transcript, and the stream's SSE `id` (and so `Last-Event-ID`). It is the events row's id with a
 * prefix, so that a delivered event and a replayed one can be matched by id.
 */
const EVENT_ID = /^evt_(\d{1,18})$/;

export function eventId(rowId: string | number): string {
  return `evt_${rowId}`;
}

/** The events row id an event id names, or null when `value` is not an event id. */
export function eventRowId(value: string): string | null {
  return EVENT_ID.exec(value)?.[1] ?? null;
}
