/** A media type as a header carries it: `type/subtype`, with optional `; name=value` parameters. */
export const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\\\r\n]*"|[\w!#$&^.+-]+))*$/;

/** The Content-Type of a stored file: its own when it is a media type, otherwise bytes. */
export function fileContentType(mimeType: string): string {
  return MEDIA_TYPE.test(mimeType) ? mimeType : 'application/octet-stream';
}

/**
 * Content-Disposition for a download named `name` (RFC 6266): a plain-ASCII fallback for old clients, and the name
 * itself UTF-8 encoded (RFC 8187), which headers cannot carry as it is.
 */
export function attachmentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
