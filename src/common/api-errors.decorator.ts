import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto, FieldProblemDto } from './error-body.dto';

/** Documents the shared error body for the statuses every authenticated route can answer. */
export const ApiErrorResponses = (...extra: number[]) =>
  applyDecorators(
    ApiExtraModels(FieldProblemDto),
    ...[400, 401, 403, 404, 413, 500, ...extra].map((status) =>
      ApiResponse({ status, type: ErrorBodyDto, description: 'Error body shared by every 4xx and 5xx answer.' }),
    ),
  );
