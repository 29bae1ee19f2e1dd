import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { DomainError } from './domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID path or query parameter; anything else is a 400 naming the parameter (`id`, `attachmentId`, `keyId`...). */
@Injectable()
export class ParseUuid implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (typeof value !== 'string' || !UUID.test(value)) throw DomainError.validation([{ field: metadata.data ?? 'id', message: 'must be a UUID' }]);
    return value;
  }
}
