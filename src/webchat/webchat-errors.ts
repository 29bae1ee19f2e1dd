/**
 * A Direct Line error: the status and `{ error: { code, message } }` body of the protocol (codes are stable, messages
 * are not). Codes beyond the documented TokenExpired, BotRejectedActivity and MissingProperty follow the protocol
 * file's recommendation.
 */
export class DirectLineError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  static badArgument(field: string, problem: string): DirectLineError {
    return new DirectLineError(400, 'BadArgument', `${field}: ${problem}`);
  }

  static notFound(message: string): DirectLineError {
    return new DirectLineError(404, 'NotFound', message);
  }

  static tooBig(message: string): DirectLineError {
    return new DirectLineError(413, 'MessageSizeTooBig', message);
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
