import { HttpError, MultipartFile, readMultipart, SimulatorRequest } from '../http/simulator-http';

/** A chat API request body, whatever its encoding. */
export interface GmsForm {
  fields: Record<string, string>;
  /** `userData[key]=value` pairs, brackets raw or percent-encoded. */
  userData: Record<string, string>;
  files: MultipartFile[];
}

const FORM_URLENCODED = 'application/x-www-form-urlencoded';
const MULTIPART = 'multipart/form-data';

/**
 * Reads a urlencoded or multipart body. Any other content type, or none, is HTTP 415, as GMS Chat API v1 documents;
 * Genesys does not say so for v2, so the same rule is assumed.
 */
export async function parseGmsForm(req: SimulatorRequest): Promise<GmsForm> {
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  if (contentType.startsWith(FORM_URLENCODED)) {
    return splitUserData(urlencodedFields(req.body), []);
  }
  if (contentType.startsWith(MULTIPART)) {
    const body = await readMultipart(req.raw);
    return splitUserData(body.fields, body.files);
  }
  throw new HttpError(415, {
    message: `Unsupported content type "${contentType || '(none)'}": use ${FORM_URLENCODED} or ${MULTIPART}`,
  });
}

function urlencodedFields(body: Buffer): Record<string, string> {
  const fields: Record<string, string> = {};
  if (body.length === 0) return fields;
  // URLSearchParams decodes %5B/%5D, so raw and encoded brackets arrive as the same key.
  for (const [name, value] of new URLSearchParams(body.toString('utf8'))) fields[name] = value;
  return fields;
}

function splitUserData(all: Record<string, string>, files: MultipartFile[]): GmsForm {
  const fields: Record<string, string> = {};
  const userData: Record<string, string> = {};
  for (const name in all) {
    if (name.startsWith('userData[') && name.endsWith(']')) userData[name.slice(9, -1)] = all[name];
    else fields[name] = all[name];
  }
  return { fields, userData, files };
}
