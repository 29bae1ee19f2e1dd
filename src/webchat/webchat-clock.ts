import { Injectable } from '@nestjs/common';

/** The time tokens are minted and checked at; tests move it to expire tokens without waiting. */
@Injectable()
export class WebchatClock {
  now(): number {
    return Date.now();
  }
}
