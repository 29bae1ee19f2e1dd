export * from './fake/fake-platform';
export * from './fake/fake-channel-platform';
export * from './gms';
export * from './eight-by-eight';
export * from './clock/simulator-clock';
export * from './teams';
export * from './twilio';
export * from './whatsapp';
