import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

/** One problem of a request, by the field it is about. */
export class FieldProblemDto {
  @ApiProperty({ example: 'user.email' }) field: string;
  @ApiProperty({ example: 'must be an email' }) message: string;
}

/** The one error body of every 4xx and 5xx answer. */
export class ErrorBodyDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'validation_failed', description: 'Stable machine-readable code.' })
  code: string;

  @ApiProperty({ example: 'settings.basic.serviceUrl: must be a URL' })
  message: string;

  @ApiPropertyOptional({
    description: 'Per-field problems (`validation_failed`), or other structured detail of the error.',
    oneOf: [{ type: 'array', items: { $ref: getSchemaPath(FieldProblemDto) } }, { type: 'object', additionalProperties: true }],
    example: [{ field: 'settings.basic.serviceUrl', message: 'must be a URL' }],
  })
  details?: FieldProblemDto[] | Record<string, unknown>;

  @ApiProperty({ example: '4f1c2a8e-2f7b-4b7e-9d55-0c4e9f8f6a1b', description: 'Also sent as the X-Correlation-Id header.' })
  correlationId: string;
}
