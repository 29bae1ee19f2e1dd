import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { EVERY_DOMAIN } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { ErrorBodyDto } from '../common/error-body.dto';
import { attachmentDisposition, fileContentType } from '../common/file-headers';
import { ParseUuid } from '../common/parse-uuid.pipe';
import { AttachmentsRepository } from './attachments.repository';
import { FILE_LINK_PATH, FileLinks } from './file-links';

/** Files opened by their signed link (a channel's user has no API key): the link is the authorization. */
@ApiTags('files')
@Controller(FILE_LINK_PATH)
export class FileLinksController {
  constructor(
    private readonly links: FileLinks,
    private readonly attachments: AttachmentsRepository,
  ) {}

  @Public()
  @Get(':escalationId/:attachmentId')
  @ApiOperation({ summary: "Download an agent's file by the signed, expiring link sent to the channel's user (no API key)" })
  @ApiParam({ name: 'escalationId', format: 'uuid' })
  @ApiParam({ name: 'attachmentId', format: 'uuid' })
  @ApiQuery({ name: 'expires', type: String, description: 'Expiry of the link, seconds since 1970 (part of the signed link).' })
  @ApiQuery({ name: 'signature', type: String, description: 'Signature of the link.' })
  @ApiOkResponse({ description: 'The file, as a download under its own content type.', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } })
  @ApiResponse({ status: 400, type: ErrorBodyDto, description: '`expires` or `signature` missing or malformed.' })
  @ApiResponse({ status: 403, type: ErrorBodyDto, description: 'The link was changed or not made by this service (`link_invalid`).' })
  @ApiResponse({ status: 404, type: ErrorBodyDto, description: 'The file no longer exists (retention).' })
  @ApiResponse({ status: 410, type: ErrorBodyDto, description: 'The link has expired (`link_expired`).' })
  async download(
    @Param('escalationId', ParseUuid) escalationId: string,
    @Param('attachmentId', ParseUuid) attachmentId: string,
    @Query('expires') expires: unknown,
    @Query('signature') signature: unknown,
    @Res() res: Response,
  ): Promise<void> {
    this.links.verify(escalationId, attachmentId, expires, signature);
    const file = await this.attachments.download(attachmentId, escalationId, EVERY_DOMAIN);
    if (!file) throw DomainError.notFound('File', attachmentId);
    // Files come from agents: always a download, never a page of this origin.
    res.setHeader('content-type', fileContentType(file.mimeType));
    res.setHeader('content-disposition', attachmentDisposition(file.name));
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('content-security-policy', "default-src 'none'; sandbox");
    // The link is a capability: not kept by shared caches, nor sent on as a Referer.
    res.setHeader('cache-control', 'private, no-store');
    res.setHeader('referrer-policy', 'no-referrer');
    res.send(file.content);
  }
}
