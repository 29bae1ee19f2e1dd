import busboy from 'busboy';
import type { IncomingMessage } from 'node:http';
import { DirectLineError } from './webchat-errors';
import { parseObject, readBody } from './webchat-http';

export interface UploadedFile {
  name: string;
  contentType: string;
  content: Buffer;
}

const ACTIVITY_TYPE = 'application/vnd.microsoft.activity';
const MAX_FILES = 10;

/**
 * Reads an upload as Direct Line sends them: one file as the body (`Content-Disposition` names it), or multipart
 * with one part per file and optionally a part of type application/vnd.microsoft.activity holding the activity.
 */
export async function readUpload(req: IncomingMessage, maxFileBytes: number, maxActivityChars: number): Promise<{ files: UploadedFile[]; activity: Record<string, unknown> | null }> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^multipart\/form-data/i.test(type)) {
    const content = await readBody(req, maxFileBytes, 'the file');
    if (content.length === 0) throw DirectLineError.badArgument('body', 'the upload has no file');
    const disposition = String(req.headers['content-disposition'] ?? '');
    const name = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1] ?? 'file';
    return { files: [{ name: safeDecode(name), contentType: type || 'application/octet-stream', content }], activity: null };
  }
  return new Promise((resolve, reject) => {
    const files: UploadedFile[] = [];
    let activity: Record<string, unknown> | null = null;
    let failed = false;
    const fail = (error: DirectLineError) => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      req.resume();
      reject(error);
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: Math.max(maxFileBytes, maxActivityChars * 4), files: MAX_FILES + 1, fields: 5, fieldSize: maxActivityChars * 4 } });
    } catch {
      reject(DirectLineError.badArgument('Content-Type', 'is not a multipart type with a boundary'));
      return;
    }
    parser.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const isActivity = info.mimeType === ACTIVITY_TYPE;
      const limit = isActivity ? maxActivityChars * 4 : maxFileBytes;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          stream.resume();
          fail(DirectLineError.tooBig(isActivity ? `the activity exceeds ${maxActivityChars} characters` : `file '${info.filename}' exceeds ${maxFileBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('end', () => {
        if (failed) return;
        const content = Buffer.concat(chunks);
        if (isActivity) {
          try {
            activity = parseObject(content.toString('utf8'), 'activity');
          } catch (error) {
            fail(error as DirectLineError);
          }
        } else files.push({ name: info.filename || 'file', contentType: info.mimeType || 'application/octet-stream', content });
      });
    });
    parser.on('field', (name, value) => {
      if (name !== 'activity') return;
      try {
        activity = parseObject(value, 'activity');
      } catch (error) {
        fail(error as DirectLineError);
      }
    });
    parser.on('filesLimit', () => fail(DirectLineError.badArgument('body', `at most ${MAX_FILES} files per upload`)));
    parser.on('error', () => fail(DirectLineError.badArgument('body', 'is not valid multipart/form-data')));
    parser.on('close', () => {
      if (failed) return;
      if (files.length === 0) fail(DirectLineError.badArgument('body', 'the upload has no file'));
      else resolve({ files, activity });
    });
    req.pipe(parser);
  });
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
