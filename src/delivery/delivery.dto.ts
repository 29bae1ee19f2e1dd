import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class DeliveryAttemptDto {
  @ApiProperty({ description: 'From 1, per event.' }) attempt: number;
  @ApiProperty({ description: 'When the request was answered, or given up on.' }) at: string;
  @ApiPropertyOptional({ nullable: true, type: Number, description: "The callback's HTTP status; null when nothing answered." }) statusCode: number | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'Why the attempt failed; null for a 2xx.' }) error: string | null;
  @ApiProperty({ description: 'How long the request took.' }) durationMs: number;
}
