export * from './fake/fake.gateway';
export * from './fake/fake.module';
export * from './fake/fake-channel.gateway';
export * from './genesys-pureengage/genesys-pureengage.gateway';
export * from './genesys-pureengage/genesys-pureengage.module';
export * from './eight-by-eight/eight-by-eight.gateway';
export * from './eight-by-eight/eight-by-eight.module';
