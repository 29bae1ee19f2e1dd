import { SetMetadata } from '@nestjs/common';

/** Metadata key by which the registry discovers gateway providers. */
export const CHAT_GATEWAY_METADATA = 'chat-gateway:plugin';

/** Marks a provider as a `ChatGateway`; the registry discovers it at boot and refuses duplicate types. */
export const ChatGatewayPlugin = (): ClassDecorator => SetMetadata(CHAT_GATEWAY_METADATA, true);
