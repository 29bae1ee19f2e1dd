import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, FieldProblem } from './domain-error';
import { unstorableTextFields } from './unstorable-text';

function problems(errors: ValidationError[], prefix = ''): FieldProblem[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith(error.property) ? message.slice(error.property.length).trim() : message,
    }));
    return own.concat(problems(error.children ?? [], field));
  });
}

/** Text that cannot be stored is refused first, in any field of a body, a query or a path, whatever its DTO. */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
      // A parameter read alone (`@Query('domain')`) is named by its own name.
      const problems = unstorableTextFields(value, metadata.data ?? '');
      if (problems.length) throw DomainError.validation(problems);
    }
    return super.transform(value, metadata);
  }
}

/** Strict DTO validation: unknown fields and wrong types are 400s naming each field. */
export function createValidationPipe(): ValidationPipe {
  return new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => DomainError.validation(problems(errors)),
  });
}
